"""What the scheduled-call form accepts (web/views/scheduled_calls.py): the number (checked and normalised by
crm/scheduled_calls/queries.py with crm/phones.py), the day and time on the user's clock, what happens then,
a note, and where it was planned from (a card, a task)."""

from __future__ import annotations

from typing import Annotated

from web.schemas import Short
from web.validation import OptionalDate, OptionalId, OptionalTime, Schema, Text

# The typed form of a number (with spaces, brackets, a "+"): room for more than the 40 stored digits.
Number = Annotated[str, Text(60)]
Note = Annotated[str, Text(2000)]


class ScheduledCallForm(Schema):
    number: Number = ""
    due_date: OptionalDate = None
    due_time: OptionalTime = None
    action: Short = "remind"
    note: Note = ""
    counterparty_id: OptionalId = None
    task_id: OptionalId = None
