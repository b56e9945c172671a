"""What the dial campaign numbers, do-not-call and preview pages accept (issue 22)."""

from __future__ import annotations

from typing import Annotated

from web.schemas import Search, Short
from web.validation import Ids, OptionalDate, OptionalId, OptionalTime, Schema, Text


class LoadForm(Schema):
    """Numbers to add: source is tags, saved, file or order."""
    source: Short = ""
    tag: Ids = ()
    notag: Ids = ()
    saved_filter: OptionalId = None


class NumbersQuery(Schema):
    status: Short = ""
    loaded: Annotated[str, Text(500)] = ""


class DncForm(Schema):
    number: Short = ""
    reason: Annotated[str, Text(200)] = ""
    campaign: OptionalId = None
    back: Annotated[str, Text(500)] = ""


class DncQuery(Schema):
    q: Search = ""
    scope: Short = ""
    campaign: OptionalId = None
    done: Annotated[str, Text(500)] = ""


class PreviewQuery(Schema):
    campaign: OptionalId = None


class OutcomeForm(Schema):
    outcome: Short = ""
    note: Annotated[str, Text(2000)] = ""
    # The client asked to be called back then (the user's clock): the campaign dials it again at that time.
    callback_date: OptionalDate = None
    callback_time: OptionalTime = None
