"""Importing tasks and deals (A8, K2): one core for both kinds. Each row is checked first (type,
people, counterparty, deadline, status, tags, a deal's amount and outcome), then made through
crm/tasks/service.create, so it is audited and its responsible user told as if made by hand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm import labels, tags
from crm.counterparties import permissions as cp_perm
from crm.counterparties import queries as cq
from crm.counterparties.contacts import InvalidContact, normalize_contact
from crm.errors import DomainError
from crm.i18n import LANGUAGES, _, gettext, using
from crm.imports.common import People, date_and_time, names, reason, tag_ids, text, time_of, usable_tags
from crm.imports.reader import columns
from crm.phones import InvalidPhone, parse_phone
from crm.tasks import queries as tq
from crm.tasks import service as task_service
from crm.tasks.model import IMPORT_FOR_OTHERS_REFUSED, TaskInput, can_import_for, parse_amount

ALIASES = {
    "title": ("title", "name", "task", "subject", "название", "наименование", "задача", "тема"),
    "type": ("type", "task type", "тип", "тип задачи"),
    "description": ("description", "remark", "note", "comment", "описание", "примечание", "комментарий"),
    "responsible": ("responsible", "executor", "manager", "operator", "ответственный", "исполнитель",
                    "менеджер", "оператор"),
    "participants": ("participants", "participant", "участники", "участник", "соисполнители"),
    # A name, a phone number or an e-mail address: each finds the card.
    "counterparty": ("counterparty", "client", "company", "phone", "e-mail", "email", "контрагент", "клиент",
                     "компания", "телефон", "почта"),
    "deadline": ("deadline", "due", "due date", "date", "дедлайн", "срок", "крайний срок", "выполнить до", "дата"),
    "time": ("time", "deadline time", "время", "выполнить в"),
    "status": ("status", "статус", "статус задачи"),
    "tags": ("tag", "tags", "тег", "теги"),
}
DEAL_ALIASES = {
    **ALIASES,
    "title": (*ALIASES["title"], "deal", "сделка"),
    "type": (*ALIASES["type"], "deal type", "тип сделки"),
    "amount": ("amount", "sum", "value", "сумма", "стоимость"),
    "outcome": ("outcome", "result", "deal status", "итог", "результат", "статус сделки"),
}
_LOOKS_LIKE_A_NUMBER = re.compile(r"^[+(]?[0-9]")


@dataclass(frozen=True)
class CheckedTask:
    task: TaskInput
    tag_ids: tuple[int, ...] = ()


def words_of(kind: str) -> dict[str, str]:
    """Lower-cased code or its words in any language we speak -> code ("в работе" -> in_progress)."""
    out: dict[str, str] = {}
    for language in LANGUAGES:
        with using(language):
            for code, words in labels.choices(kind):
                out[words.lower()] = out[code] = out[code.replace("_", " ")] = code
    return out


def status_and_outcome(statuses: dict[str, str], outcomes: dict[str, str], status: str, outcome: str,
                       deals: bool) -> tuple[str, str | None]:
    """The row's status and a deal's outcome. A deal's status column may say the outcome ("won"):
    a won or lost deal is done unless the row says cancelled."""
    found_status = statuses.get(status.lower()) if status else "new"
    found_outcome = outcomes.get(outcome.lower()) if outcome else None
    if deals and status and found_status is None and status.lower() in outcomes:
        found_status, found_outcome = "done", found_outcome or outcomes[status.lower()]
    if found_status is None:
        raise DomainError(_("no task status called %(name)s") % {"name": repr(status)})
    if outcome and found_outcome is None:
        raise DomainError(_("a deal is won or lost, not %(name)s") % {"name": repr(outcome)})
    if found_outcome and not status:
        found_status = "done"
    return found_status, found_outcome


async def counterparty_of(conn: asyncpg.Connection, importer, written: str, region: str) -> int | None:
    """The card a cell names by e-mail, phone number or exact name; none or two of them rejects the row."""
    if not written:
        return None
    if "@" in written:
        try:
            owner = await cq.contact_owner(conn, normalize_contact("email", written, region))
        except InvalidContact as e:
            raise DomainError(str(e)) from None
        if owner is None:
            raise DomainError(_("no counterparty has the e-mail %(value)s") % {"value": written})
        return owner["id"]
    if _LOOKS_LIKE_A_NUMBER.match(written):
        try:
            phone, extension = parse_phone(written, region)
        except InvalidPhone:
            pass  # "1C-Bitrix" is a name
        else:
            owner = await cq.number_owner(conn, phone, extension)
            if owner is None:
                raise DomainError(_("no counterparty has the number %(value)s") % {"value": written})
            return owner["id"]
    found = [c for c in await cq.counterparties_by_name(conn, written) if cp_perm.can_view(importer, c)]
    if not found:
        raise DomainError(_("no counterparty called %(name)s") % {"name": repr(written)})
    if len(found) > 1:
        raise DomainError(_("several counterparties are called %(name)s; write a phone number or an e-mail instead")
                          % {"name": repr(written)})
    return found[0]["id"]


@dataclass
class _Context:
    importer: Mapping
    region: str
    types: dict[str, asyncpg.Record]
    default_type: asyncpg.Record | None
    people: People
    tags: dict[str, int]
    statuses: dict[str, str]
    outcomes: dict[str, str]


class TaskImport:
    """The "tasks" or the "deals" kind of crm/imports/jobs.py."""

    def __init__(self, deals: bool) -> None:
        self.deals = deals
        self.aliases = DEAL_ALIASES if deals else ALIASES

    async def check(self, conn: asyncpg.Connection, header: list[str], rows, region: str, progress,
                    importer) -> tuple[list, list]:
        where = columns(header, self.aliases)
        if "title" not in where:
            return [], [(1, _("no title column: expected Title (Название)"))]
        live = await tq.task_types(conn)
        types: dict[str, asyncpg.Record] = {}
        for t in live:
            types.setdefault(t["name"].lower(), t)
            if t["code"]:
                types.setdefault(t["code"], t)
        # A blank type: the product's own "Task" or "Deal", by its code (migration 0037), whatever its name now.
        default = next((t for t in live if t["code"] == ("deal" if self.deals else "task")), None)
        ctx = _Context(importer, region, types, default, await People.load(conn), await usable_tags(conn, importer),
                       words_of("task_status"), words_of("deal_outcome"))
        valid, rejected = [], []
        for i, (number, values) in enumerate(rows):
            def get(field, values=values) -> str:
                index = where.get(field)
                return text(values[index]) if index is not None and index < len(values) else ""

            def cell(field, values=values):
                index = where.get(field)
                return values[index] if index is not None and index < len(values) else None
            try:
                valid.append((number, await self._row(conn, ctx, get, cell)))
            except DomainError as e:
                rejected.append((number, reason(e)))
            if i % 100 == 99:
                await progress(checked=i + 1)
        return valid, rejected

    def _type(self, ctx: _Context, written: str) -> asyncpg.Record:
        if not written:
            if ctx.default_type is None or ctx.default_type["is_deal"] != self.deals:
                raise DomainError(_("write the type: the default one is archived"))
            return ctx.default_type
        kind = ctx.types.get(written.lower())
        if kind is None:
            raise DomainError(_("no task type called %(name)s") % {"name": repr(written)})
        if kind["is_deal"] and not self.deals:
            raise DomainError(_("%(name)s is a deal type; import it as deals") % {"name": repr(written)})
        if self.deals and not kind["is_deal"]:
            raise DomainError(_("%(name)s is not a deal type; import it as tasks") % {"name": repr(written)})
        return kind

    async def _row(self, conn: asyncpg.Connection, ctx: _Context, get, cell) -> CheckedTask:
        kind = self._type(ctx, get("type"))
        me = ctx.importer["id"]
        responsible = ctx.people.find(get("responsible")) if get("responsible") else me
        if not can_import_for(ctx.importer, responsible):
            raise DomainError(_("you may not give a task to %(name)s: %(reason)s") % {
                "name": repr(get("responsible")), "reason": gettext(IMPORT_FOR_OTHERS_REFUSED)})
        participants = tuple(ctx.people.find(name) for name in names(get("participants")))
        day, time = date_and_time(cell("deadline")) if get("deadline") else (None, None)
        if get("time"):
            time = time_of(cell("time"))
        status, outcome = status_and_outcome(ctx.statuses, ctx.outcomes, get("status"), get("outcome"), self.deals)
        amount = cell("amount")
        inp = TaskInput(
            title=get("title"), type_id=kind["id"], responsible_user_id=responsible,
            counterparty_id=await counterparty_of(conn, ctx.importer, get("counterparty"), ctx.region),
            deadline_date=day, deadline_time=time, remark=get("description"), status=status,
            amount=parse_amount(text(amount)) if amount not in (None, "") else None, outcome=outcome,
            participant_ids=participants).cleaned(kind["is_deal"])
        return CheckedTask(inp, tag_ids(ctx.tags, get("tags")))

    async def apply(self, conn: asyncpg.Connection, user, row: CheckedTask, region: str) -> None:
        async with conn.transaction():  # the task with its tags, or neither
            task_id = await task_service.create(conn, user, row.task)
            for tag_id in row.tag_ids:
                await tags.set_tag(conn, user, "task", task_id, tag_id, on=True)


TASKS = TaskImport(deals=False)
DEALS = TaskImport(deals=True)
