"""What the SMS campaign pages accept (web/views/sms_campaigns.py): the campaign form and the preview."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.schemas import Name, Short
from web.validation import BlankIsNone, Ids, OptionalDate, OptionalId, OptionalTime, Schema, Text

Body = Annotated[str, Text(2000)]
Hour = Annotated[int, Field(ge=0, le=24)]


class CampaignForm(Schema):
    """The new or changed draft; `source` says where its recipients come from (blank: keep them)."""
    name: Name = ""
    body: Body = ""
    own_number: Annotated[Annotated[str, Text(L.SHORT)] | None, BlankIsNone] = None
    start_date: OptionalDate = None
    start_time: OptionalTime = None
    window_from: Hour = 9
    window_to: Hour = 21
    max_parts: Annotated[int, Field(ge=1, le=10)] = 2
    source: Short = ""
    tag: Ids = ()
    notag: Ids = ()
    saved_filter: OptionalId = None


class PreviewQuery(Schema):
    body: Body = ""
