"""Creating, changing and deleting counterparties, with permission checks, duplicate
contacts refused with the owner's name, and every change in the audit log."""

from __future__ import annotations

import asyncpg

from crm import audit, sections
from crm.counterparties import permissions as perm
from crm.counterparties import queries as q
from crm.counterparties import statuses
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import _, gettext
from crm.users import queries as users_q

_AUDITED = ("last_name", "first_name", "patronymic", "company_name", "status", "responsible_user_id",
            "remark", "comment", "queue_id", "timezone")


class DuplicateContact(Conflict):
    """A contact value another counterparty already has."""

    def __init__(self, value: str, owner: asyncpg.Record | None, owner_word: str = ""):
        """owner_word: one card of the owner's section, as the reader calls it ("client")."""
        if owner is None:
            super().__init__(_("%(value)s is already in use") % {"value": value})
        else:
            super().__init__(_("%(value)s already belongs to %(item)s %(name)s") % {
                "value": value, "item": owner_word or owner["kind"], "name": owner["display_name"]})
        self.value = value
        self.owner = dict(owner) if owner else None


async def _duplicate(conn: asyncpg.Connection, value: str, owner: asyncpg.Record | None) -> DuplicateContact:
    if owner is None:
        return DuplicateContact(value, None)
    return DuplicateContact(value, owner, (await sections.load(conn))[owner["kind"]].one)


async def _check_free(conn: asyncpg.Connection, contacts: list[tuple[ContactInput, str]]) -> None:
    for contact, key in contacts:
        owner = await q.contact_owner(conn, key, contact.extension)
        if owner is not None:
            raise await _duplicate(conn, contact.value, owner)


async def _insert_contacts(conn, counterparty_id: int, contacts, user_id: int | None,
                           auto_added: bool = False) -> None:
    for contact, key in contacts:
        try:
            async with conn.transaction():  # a savepoint: the race loser gets a clean error
                await q.insert_contact(conn, counterparty_id, contact.kind, contact.main_value, key, contact.note,
                                       user_id, auto_added, extension=contact.extension)
        except asyncpg.UniqueViolationError:
            raise await _duplicate(conn, contact.value, await q.contact_owner(conn, key, contact.extension)) from None


async def _check_responsible(conn: asyncpg.Connection, user_id: int | None) -> None:
    if user_id is None:
        return
    row = await users_q.user_by_id(conn, user_id)
    if row is None or row["deleted_at"] is not None or row["is_blocked"]:
        raise ValidationError({"responsible_user_id": _("no such active user")})


def _check_may_assign(user, new_responsible_id: int | None, current_id: int | None) -> None:
    if not perm.can_assign_responsible(user, new_responsible_id, current_id):
        raise Forbidden(_("you may not make another user responsible: %(reason)s") % {
            "reason": gettext(perm.GIVE_AWAY_REFUSED)})


async def _check_queue(conn: asyncpg.Connection, queue_id: int | None) -> None:
    if queue_id is not None and not await conn.fetchval(
            "SELECT true FROM queues WHERE id = $1 AND deleted_at IS NULL", queue_id):
        raise ValidationError({"queue_id": _("no such queue")})


async def _load(conn: asyncpg.Connection, counterparty_id: int, *, for_update: bool = False) -> asyncpg.Record:
    row = await q.get_counterparty(conn, counterparty_id, for_update=for_update)
    if row is None:
        raise await not_found(conn, counterparty_id)
    return row


async def not_found(conn: asyncpg.Connection, counterparty_id: int) -> NotFound:
    """No such card, or one this user may not see (the same words: which it is stays unsaid)."""
    words = await sections.load(conn)
    return NotFound(_("no %(client)s or %(company)s with number %(id)s") % {
        "client": words["client"].one, "company": words["company"].one, "id": counterparty_id})


async def create(conn: asyncpg.Connection, user, inp: CounterpartyInput, region: str) -> int:
    if not perm.can_create(user):
        raise Forbidden(_("your role cannot create counterparties"))
    inp = inp.cleaned(await sections.load(conn))
    await statuses.check(conn, inp.status)
    _check_may_assign(user, inp.responsible_user_id, None)
    contacts = inp.normalized_contacts(region)
    await _check_responsible(conn, inp.responsible_user_id)
    await _check_queue(conn, inp.queue_id)
    if inp.company_ids and await q.live_companies(conn, list(inp.company_ids)) != set(inp.company_ids):
        raise ValidationError({"company_ids": (await sections.load(conn))["company"].not_found()})
    await _check_free(conn, contacts)
    async with conn.transaction():
        new_id = await q.insert_counterparty(conn, inp, user["id"])
        await _insert_contacts(conn, new_id, contacts, user["id"])
        for address in inp.addresses:
            await q.insert_address(conn, new_id, address)
        for company_id in inp.company_ids:
            await q.add_member(conn, company_id, new_id)
        await audit.record(conn, user["id"], "counterparty", new_id, "create", audit.created(
            {**{k: getattr(inp, k) for k in _AUDITED}, **_contact_values(c for c, _key in contacts),
             "address": list(inp.addresses) or None, "company_id": list(inp.company_ids) or None}))
    return new_id


async def update(conn: asyncpg.Connection, user, counterparty_id: int, inp: CounterpartyInput) -> None:
    async with conn.transaction():
        current = await _load(conn, counterparty_id, for_update=True)
        if not perm.can_edit(user, current):
            raise Forbidden(_("you cannot edit this counterparty"))
        if inp.kind != current["kind"]:
            raise ValidationError({"kind": _("a client cannot become a company or the other way round")})
        inp = inp.cleaned(await sections.load(conn))
        await statuses.check(conn, inp.status, current["status"])
        _check_may_assign(user, inp.responsible_user_id, current["responsible_user_id"])
        await _check_responsible(conn, inp.responsible_user_id)
        await _check_queue(conn, inp.queue_id)
        await q.update_counterparty(conn, counterparty_id, inp)
        changes = audit.diff(current, {k: getattr(inp, k) for k in _AUDITED}, _AUDITED)
        if changes:
            await audit.record(conn, user["id"], "counterparty", counterparty_id, "update", changes)


async def delete(conn: asyncpg.Connection, user, counterparty_id: int) -> None:
    async with conn.transaction():
        current = await _load(conn, counterparty_id, for_update=True)
        if not perm.can_delete(user, current):
            raise Forbidden(_("you cannot delete this counterparty"))
        await q.soft_delete(conn, counterparty_id)
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "delete",
                           audit.deleted({"display_name": current["display_name"]}))


async def add_contact(conn: asyncpg.Connection, user, counterparty_id: int, contact: ContactInput,
                      region: str) -> None:
    current = await _load(conn, counterparty_id)
    if not perm.can_edit(user, current):
        raise Forbidden(_("you cannot edit this counterparty"))
    [(contact, key)] = CounterpartyInput(kind=current["kind"], contacts=(contact,)).normalized_contacts(region)
    await _check_free(conn, [(contact, key)])
    async with conn.transaction():
        await _insert_contacts(conn, counterparty_id, [(contact, key)], user["id"])
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "add contact",
                           {contact.kind: [None, contact.value]})


async def remove_contact(conn: asyncpg.Connection, user, contact_id: int) -> int:
    contact = await q.get_contact(conn, contact_id)
    if contact is None:
        raise NotFound(_("no contact %(id)s") % {"id": contact_id})
    if not perm.can_edit(user, await _load(conn, contact["counterparty_id"])):
        raise Forbidden(_("you cannot edit this counterparty"))
    async with conn.transaction():
        await q.delete_contact(conn, contact_id)
        await audit.record(conn, user["id"], "counterparty", contact["counterparty_id"], "remove contact",
                           {contact["kind"]: [_shown(contact), None]})
    return contact["counterparty_id"]


async def add_address(conn: asyncpg.Connection, user, counterparty_id: int, address: str) -> None:
    if not perm.can_edit(user, await _load(conn, counterparty_id)):
        raise Forbidden(_("you cannot edit this counterparty"))
    address = address.strip()
    if not address:
        raise ValidationError({"address": _("the address is empty")})
    async with conn.transaction():
        await q.insert_address(conn, counterparty_id, address)
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "add address",
                           {"address": [None, address]})


async def remove_address(conn: asyncpg.Connection, user, counterparty_id: int, address_id: int) -> None:
    if not perm.can_edit(user, await _load(conn, counterparty_id)):
        raise Forbidden(_("you cannot edit this counterparty"))
    async with conn.transaction():
        text = await conn.fetchval("SELECT address FROM addresses WHERE id = $1 AND counterparty_id = $2",
                                   address_id, counterparty_id)
        if not await q.delete_address(conn, counterparty_id, address_id):
            raise NotFound(_("no address %(id)s") % {"id": address_id})
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "remove address",
                           {"address": [text, None]})


async def join_company(conn: asyncpg.Connection, user, client_id: int, company_id: int, *, leave: bool = False) -> None:
    client = await _load(conn, client_id)
    if client["kind"] != "client":
        words = await sections.load(conn)
        raise ValidationError({"client": _("only the section %(clients)s joins %(companies)s") % {
            "clients": words["client"].name, "companies": words["company"].name}})
    if not perm.can_edit(user, client):
        raise Forbidden(_("you cannot edit this client"))
    if not leave and company_id not in await q.live_companies(conn, [company_id]):
        raise ValidationError({"company": (await sections.load(conn))["company"].not_found()})
    async with conn.transaction():
        if leave:
            await q.remove_member(conn, company_id, client_id)
        else:
            await q.add_member(conn, company_id, client_id)
        name = await conn.fetchval("SELECT display_name FROM counterparties WHERE id = $1", company_id)
        company = f"{name} ({company_id})" if name else company_id
        await audit.record(conn, user["id"], "counterparty", client_id, "leave company" if leave else "join company",
                           {"company": [company, None] if leave else [None, company]})


def _shown(contact) -> str:
    """A contact as written, with its extension."""
    return f"{contact['value']} ({contact['extension']})" if contact["extension"] else contact["value"]


def _contact_values(contacts) -> dict[str, list[str]]:
    """{kind: [value, ...]} of new contacts, for the audit."""
    out: dict[str, list[str]] = {}
    for c in contacts:
        out.setdefault(c.kind, []).append(c.value)
    return out


async def update_contact(conn: asyncpg.Connection, user, contact_id: int, contact: ContactInput, region: str) -> int:
    """A contact's new value (and note), same kind; the card's counterparty id. Refused as a new
    contact would be when another card has the value."""
    current = await q.get_contact(conn, contact_id)
    if current is None:
        raise NotFound(_("no contact %(id)s") % {"id": contact_id})
    counterparty = await _load(conn, current["counterparty_id"])
    if not perm.can_edit(user, counterparty):
        raise Forbidden(_("you cannot edit this counterparty"))
    contact = ContactInput(current["kind"], contact.value, contact.note)
    [(contact, key)] = CounterpartyInput(kind=counterparty["kind"], contacts=(contact,)).normalized_contacts(region)
    owner = await q.contact_owner(conn, key, contact.extension)
    if owner is not None and owner["id"] != current["counterparty_id"]:
        raise await _duplicate(conn, contact.value, owner)
    async with conn.transaction():
        try:
            async with conn.transaction():
                await q.update_contact(conn, contact_id, contact.main_value, key, contact.note, contact.extension)
        except asyncpg.UniqueViolationError:
            raise await _duplicate(conn, contact.value, await q.contact_owner(conn, key, contact.extension)) from None
        new = {"value": contact.main_value, "extension": contact.extension, "note": contact.note}
        changes = audit.diff({contact.kind: _shown(current), "note": current["note"]},
                             {contact.kind: _shown(new), "note": contact.note})
        if changes:
            await audit.record(conn, user["id"], "counterparty", current["counterparty_id"], "change contact", changes)
    return current["counterparty_id"]


async def card(conn: asyncpg.Connection, user, counterparty_id: int) -> dict:
    row = await _load(conn, counterparty_id)
    if not perm.can_view(user, row):
        raise await not_found(conn, counterparty_id)
    out = dict(row)
    out["contacts"] = [dict(r) for r in await q.contacts_of(conn, counterparty_id)]
    out["addresses"] = [dict(r) for r in await q.addresses_of(conn, counterparty_id)]
    if row["kind"] == "client":
        out["companies"] = [dict(r) for r in await q.companies_of(conn, counterparty_id)]
    else:
        out["members"] = [dict(r) for r in await q.members_of(conn, counterparty_id)]
    out["can_edit"] = perm.can_edit(user, row)
    out["can_delete"] = perm.can_delete(user, row)
    return out
