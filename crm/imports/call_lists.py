"""Importing call lists (K2, H8): each row a scheduled call - a task of type
"Scheduled call" for its responsible user, due when the call is to be made."""

from __future__ import annotations

import asyncpg

from crm.counterparties import queries as cq
from crm.errors import DomainError
from crm.i18n import _
from crm.imports.common import date_and_time, reason
from crm.imports.reader import columns
from crm.phones import InvalidPhone, parse_phone, phone_text
from crm.tasks import queries as tq
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from crm.users import queries as users_q

ALIASES = {
    "number": ("number", "phone", "номер", "телефон"),
    "counterparty": ("counterparty", "client", "name", "контрагент", "клиент"),
    "when": ("when", "call at", "date", "когда", "дата"),
    "responsible": ("responsible", "operator", "manager", "ответственный", "оператор"),
    "note": ("note", "remark", "comment", "примечание", "комментарий"),
}


async def check(conn: asyncpg.Connection, header: list[str], rows, region: str, progress,
                importer_id: int) -> tuple[list, list]:
    where = columns(header, ALIASES)
    if "number" not in where or "when" not in where:
        return [], [(1, _("a call list needs Number and When columns"))]
    type_id = await tq.type_by_code(conn, "scheduled_call")  # whatever the admin calls it (migration 0037)
    if type_id is None:
        return [], [(1, _("the task type for scheduled calls is missing"))]
    logins = await users_q.active_logins(conn)
    valid, rejected = [], []
    for i, (number, values) in enumerate(rows):
        def get(field, values=values):
            index = where.get(field)
            return values[index] if index is not None and index < len(values) else None
        try:
            try:
                phone, extension = parse_phone(str(get("number") or ""), region)
            except InvalidPhone as e:
                raise DomainError(str(e)) from None
            day, time = date_and_time(get("when"))
            who = str(get("responsible") or "").strip()
            responsible = logins.get(who.lower()) if who else importer_id
            if responsible is None:
                raise DomainError(_("no active user with login %(login)s") % {"login": repr(who)})
            # The card with this number and extension, else the number's own (as a call would find).
            owner = await cq.number_owner(conn, phone, extension)
            name = owner["display_name"] if owner else (str(get("counterparty") or "").strip() or phone)
            valid.append((number, TaskInput(
                title=_("Call %(name)s") % {"name": name}, type_id=type_id, responsible_user_id=responsible,
                counterparty_id=owner["id"] if owner else None, deadline_date=day, deadline_time=time,
                # The number in its own field, dialled from the task; an extension, not dialled, in the remark.
                call_number=(phone, phone),
                remark=" ".join(x for x in (phone_text(phone, extension) if extension else "",
                                            str(get("note") or "").strip()) if x))))
        except DomainError as e:
            rejected.append((number, reason(e)))
        if i % 100 == 99:
            await progress(checked=i + 1)
    return valid, rejected


async def apply(conn: asyncpg.Connection, user, row: TaskInput, region: str) -> None:
    await task_service.create(conn, user, row)
