"""Tasks and deals (C1-C4): input checks and the overdue rule, without I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from crm.errors import ValidationError

STATUSES = ("new", "in_progress", "done", "cancelled")
STATUS_LABELS = {"new": "new", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}
OPEN = ("new", "in_progress")
OUTCOMES = ("won", "lost")


def is_overdue(status: str, deadline_date: dt.date | None, deadline_time: dt.time | None, now: dt.datetime) -> bool:
    """Open and past its deadline; a deadline without a time lasts to the end of that day."""
    if status not in OPEN or deadline_date is None:
        return False
    if deadline_time is None:
        return deadline_date < now.date()
    return dt.datetime.combine(deadline_date, deadline_time) < now.replace(tzinfo=None)


def parse_amount(text: str) -> Decimal | None:
    text = (text or "").strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"amount": f"{text!r} is not an amount"}) from None
    if value < 0 or value >= Decimal("1e14"):
        raise ValidationError({"amount": "an amount is 0 or more"})
    return value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class TaskInput:
    title: str
    type_id: int
    responsible_user_id: int
    counterparty_id: int | None = None
    deadline_date: dt.date | None = None
    deadline_time: dt.time | None = None
    remark: str = ""
    status: str = "new"
    amount: Decimal | None = None
    outcome: str | None = None
    participant_ids: tuple[int, ...] = field(default_factory=tuple)

    def cleaned(self, is_deal: bool) -> "TaskInput":
        errors = {}
        title = self.title.strip()
        if not 0 < len(title) <= 200:
            errors["title"] = "a title is 1 to 200 characters"
        if self.status not in STATUSES:
            errors["status"] = f"must be one of {', '.join(STATUSES)}"
        if self.deadline_time is not None and self.deadline_date is None:
            errors["deadline_time"] = "a time needs a date"
        if not is_deal and (self.amount is not None or self.outcome):
            errors["amount"] = "only deals have an amount and an outcome"
        if self.outcome and self.outcome not in OUTCOMES:
            errors["outcome"] = "a deal is won or lost"
        if self.outcome == "won" and self.status != "done":
            errors["outcome"] = "a won deal is done"
        if self.outcome and self.status in OPEN:
            errors.setdefault("outcome", "an open deal has no outcome yet")
        if errors:
            raise ValidationError(errors)
        participants = tuple(p for p in dict.fromkeys(self.participant_ids) if p != self.responsible_user_id)
        return TaskInput(title, self.type_id, self.responsible_user_id, self.counterparty_id, self.deadline_date,
                         self.deadline_time, self.remark.strip(), self.status, self.amount, self.outcome or None,
                         participants)
