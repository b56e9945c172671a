"""Tasks and deals (C1-C4): input checks and the overdue rule, without I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from crm.errors import ValidationError
from crm.i18n import N_, _
from crm.roles import sees_everything

STATUSES = ("new", "in_progress", "done", "cancelled")
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
    """"1 250 000,50", "1250000.50", "1,250,000.50": spaces of any kind group digits; with both a
    comma and a dot, the last one is the decimal point and the other groups digits."""
    written = (text or "").strip()
    text = "".join(written.split())
    if "," in text and "." in text:
        point = max(text.rfind(","), text.rfind("."))
        text = text[:point].replace(",", "").replace(".", "") + "." + text[point + 1:]
    text = text.replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
        if not value.is_finite():  # "NaN", "Infinity": Decimal reads them, an amount they are not
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError({"amount": _("%(text)s is not an amount") % {"text": repr(written)}}) from None
    if value < 0 or value >= Decimal("1e14"):
        raise ValidationError({"amount": _("an amount is 0 or more")})
    return value.quantize(Decimal("0.01"))


def task_people(task: Mapping) -> set[int]:
    """The task's own people: its responsible user, author and participants."""
    ids = {task.get("responsible_user_id"), task.get("author_user_id"),
           *(p["id"] for p in task.get("participants", []))}
    return {i for i in ids if i is not None}


def can_see(user: Mapping, task: Mapping, my_queue_ids: Collection[int]) -> bool:
    """Every user sees every task, but a queue's task (a stranger's callback, issue 15) only its
    members, its own people, supervisors and admins. crm/tasks/queries.visible_sql says the same in SQL."""
    if task.get("queue_id") is None or sees_everything(user):
        return True
    return task["queue_id"] in my_queue_ids or user["id"] in task_people(task)


def can_take(user: Mapping, task: Mapping, my_queue_ids: Collection[int]) -> bool:
    """An open queue task nobody has taken yet is taken by a member of its queue (or by a supervisor or admin)."""
    if task.get("queue_id") is None or task.get("responsible_user_id") is not None or task["status"] not in OPEN:
        return False
    return sees_everything(user) or task["queue_id"] in my_queue_ids


# Translated where shown: gettext(IMPORT_FOR_OTHERS_REFUSED).
IMPORT_FOR_OTHERS_REFUSED = N_("only supervisors and admins import tasks for other users")


def can_import_for(importer: Mapping, responsible_id: int) -> bool:
    """A file of tasks hands out work in bulk: supervisors and admins to anyone, the others only to
    themselves (as the counterparty import gives clients away: counterparties/permissions.py)."""
    return sees_everything(importer) or responsible_id == importer["id"]


@dataclass(frozen=True)
class TaskInput:
    title: str
    type_id: int
    # None only for a queue's task nobody has taken (crm/tasks/service checks it).
    responsible_user_id: int | None
    counterparty_id: int | None = None
    deadline_date: dt.date | None = None
    deadline_time: dt.time | None = None
    remark: str = ""
    status: str = "new"
    amount: Decimal | None = None
    outcome: str | None = None
    participant_ids: tuple[int, ...] = field(default_factory=tuple)
    # The number to call (a call list's row, H8): (as dialled, E.164); set when the task is made.
    call_number: tuple[str, str] | None = None

    def cleaned(self, is_deal: bool) -> "TaskInput":
        errors = {}
        title = self.title.strip()
        if not 0 < len(title) <= 200:
            errors["title"] = _("a title is 1 to 200 characters")
        if self.status not in STATUSES:
            errors["status"] = _("must be one of %(values)s") % {"values": ", ".join(STATUSES)}
        if self.deadline_time is not None and self.deadline_date is None:
            errors["deadline_time"] = _("a time needs a date")
        if not is_deal and (self.amount is not None or self.outcome):
            errors["amount"] = _("only deals have an amount and an outcome")
        if self.outcome and self.outcome not in OUTCOMES:
            errors["outcome"] = _("a deal is won or lost")
        if self.outcome == "won" and self.status != "done":
            errors["outcome"] = _("a won deal is done")
        if self.outcome and self.status in OPEN:
            errors.setdefault("outcome", _("an open deal has no outcome yet"))
        if errors:
            raise ValidationError(errors)
        participants = tuple(p for p in dict.fromkeys(self.participant_ids) if p != self.responsible_user_id)
        return TaskInput(title, self.type_id, self.responsible_user_id, self.counterparty_id, self.deadline_date,
                         self.deadline_time, self.remark.strip(), self.status, self.amount, self.outcome or None,
                         participants, self.call_number)
