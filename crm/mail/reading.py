"""Who reads which e-mail, and filing the unfiled ones (issue 23, I4).

- A message filed on cards: whoever may see one of them (crm/counterparties/permissions.can_view).
- An unfiled one (no card has its addresses): the roles that file unknown senders (FILE_ROLES: managers
  and up, as for SMS from unknown numbers).
- An outgoing one: as the cards it is filed on; its author always.
- A customer's user (issue 22): none (its pages do not include e-mail; web/customer_access.py).

Filing an unfiled message on a card files every other unfiled message of its sender there too, adds
the address to the card as an e-mail contact when no card has it (contacts are unique across the base),
and is audited on the card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from crm import audit
from crm.counterparties import permissions as perm
from crm.counterparties import queries as cq
from crm.counterparties import service as counterparties
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import Conflict, Forbidden, NotFound
from crm.i18n import gettext as _
from crm.mail import queries as q
from crm.mail.addresses import normalize_address
from crm.roles import ADMIN, MANAGER, SUPERVISOR, is_customer

FILE_ROLES = (MANAGER, SUPERVISOR, ADMIN)


def may_file(user: Mapping) -> bool:
    return user["role"] in FILE_ROLES


def may_read(user: Mapping, message: Mapping, cards: Sequence[Mapping]) -> bool:
    """Pure: whether `user` may read `message`, filed on `cards`."""
    if is_customer(user):
        return False
    if message["status"] == "unfiled":
        return may_file(user)
    if message["direction"] == "out" and message["user_id"] == user["id"]:
        return True
    return any(perm.can_view(user, c) for c in cards)


async def read(conn: asyncpg.Connection, user: Mapping, message_id: int) -> dict:
    """The message with its cards and attachments; NotFound for one the user may not read."""
    message = await q.message(conn, message_id)
    cards = await q.cards_of(conn, message_id) if message else []
    if message is None or not may_read(user, message, cards):
        raise NotFound(_("no e-mail %(id)s") % {"id": message_id})
    message["cards"] = [c for c in cards if perm.can_view(user, c)]
    message["attachment_list"] = await q.attachments_of(conn, message_id)
    return message


async def attachment(conn: asyncpg.Connection, user: Mapping, attachment_id: int) -> asyncpg.Record:
    """An attachment of a message the user may read, with its content; NotFound otherwise (or not kept)."""
    row = await q.attachment(conn, attachment_id)
    if row is None:
        raise NotFound(_("no attachment %(id)s") % {"id": attachment_id})
    await read(conn, user, row["message_id"])
    if row["content"] is None:
        raise NotFound(_("the attachment %(name)s was too big to keep") % {"name": row["filename"]})
    return row


async def _unfiled(conn: asyncpg.Connection, user: Mapping, message_id: int) -> dict:
    if not may_file(user):
        raise Forbidden(_("only managers, supervisors and admins file e-mail from unknown senders"))
    message = await conn.fetchrow("SELECT id, status, from_address, from_name FROM mail_messages WHERE id = $1 "
                                  "FOR UPDATE", message_id)
    if message is None:
        raise NotFound(_("no e-mail %(id)s") % {"id": message_id})
    if message["status"] != "unfiled":
        raise Conflict(_("the e-mail is on a card already"))
    # No sender address (no From, or an unreadable one): the message alone can still go on a chosen card.
    return {**dict(message), "address": normalize_address(message["from_address"])}


async def file_message(conn: asyncpg.Connection, user: Mapping, message_id: int, counterparty_id: int) -> dict:
    """File the message and every other unfiled one of its sender on the card; {"filed": n, "contact": words}."""
    async with conn.transaction():
        message = await _unfiled(conn, user, message_id)
        card = await cq.get_counterparty(conn, counterparty_id)
        if card is None or card["deleted_at"] is not None:
            raise NotFound(_("no counterparty %(id)s") % {"id": counterparty_id})
        if not perm.can_edit(user, card):
            raise Forbidden(_("you may file e-mail only on a card you may edit"))
        address = message["address"]
        ids = await q.unfiled_of_address(conn, address) if address else [message_id]
        await q.file_on_card(conn, ids, counterparty_id, address, user["id"])
        owner = await cq.contact_owner(conn, address) if address else None
        if not address:
            contact = _("the e-mail has no sender address: only this message is filed")
        elif owner is None:
            await cq.insert_contact(conn, counterparty_id, "email", address, address,
                                    _("from e-mail %(id)s") % {"id": message_id}, user["id"], auto_added=True)
            contact = _("%(address)s added to the card") % {"address": address}
        elif owner["id"] == counterparty_id:
            contact = _("%(address)s is already on the card") % {"address": address}
        else:
            contact = _("%(address)s belongs to %(name)s; not added") % {"address": address,
                                                                         "name": owner["display_name"]}
        changes = {"address": [None, address], "messages": [None, ids]}
        if owner is None and address:
            changes["email"] = [None, address]  # the contact it gained
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "file email", changes)
    return {"filed": len(ids), "contact": contact, "counterparty_id": counterparty_id}


def sender_card(name: str, address: str) -> CounterpartyInput:
    """Pure: a new client for an unknown sender: the display name as the last name (the address's local
    part when there is none), the address as its e-mail."""
    words = name.strip() or address.partition("@")[0]
    return CounterpartyInput(kind="client", last_name=words[:200], contacts=(ContactInput("email", address),))


async def file_to_new(conn: asyncpg.Connection, user: Mapping, message_id: int, name: str, region: str) -> dict:
    """A new client from the sender (checked and audited as the card form's), the sender's messages on it."""
    async with conn.transaction():
        message = await _unfiled(conn, user, message_id)
        if not message["address"]:
            raise Conflict(_("the e-mail has no sender address to make a card from"))
        inp = sender_card(name or message["from_name"], message["address"])
        counterparty_id = await counterparties.create(conn, user, inp, region)
        return await file_message(conn, user, message_id, counterparty_id)
