"""What the allow-list and locks pages accept (issue 17); web/schemas.py has the rest."""

from __future__ import annotations

from typing import Annotated

from web import limits as L
from web.validation import OptionalId, Schema, Text

Short = Annotated[str, Text(L.SHORT)]


class AllowEntryForm(Schema):
    """POST /admin/allowlist: a network on a role's list or on one user's (form or JSON)."""
    role: Short = ""
    user_id: OptionalId = None
    network: Short = ""
    note: Annotated[str, Text(L.NAME)] = ""


class LockLiftForm(Schema):
    """POST /admin/locks/lift: the count of failures to clear."""
    scope: Short = ""
    key: Annotated[str, Text(L.NAME)] = ""
