"""Attaching an SMS from an unknown number to a card (issue 21, A7), as unknown callers' calls are
(crm/calls/attach.py): every message of that number on no card moves to the card, the number is
learned as the card's phone (contacts.auto_added), and both are audited.

Who may: the roles of crm.sms.listing.ATTACH_ROLES (managers and up), onto a card they may edit
(crm/counterparties/permissions.can_edit: a manager his own clients and those of nobody); or onto a
new card they create there.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.counterparties import permissions as perm
from crm.counterparties import queries as cq
from crm.counterparties import service
from crm.counterparties.learn import learn_number
from crm.counterparties.model import CounterpartyInput
from crm.errors import Conflict, Forbidden, NotFound
from crm.i18n import gettext as _
from crm.sms import queries as q
from crm.sms.listing import may_attach


async def _unattached(conn: asyncpg.Connection, user: Mapping, message_id: int) -> asyncpg.Record:
    if not may_attach(user):
        raise Forbidden(_("only managers, supervisors and admins attach messages from unknown numbers"))
    message = await conn.fetchrow("SELECT id, phone, direction, counterparty_id FROM sms_messages WHERE id = $1 "
                                  "FOR UPDATE", message_id)
    if message is None or message["direction"] != "in":
        raise NotFound(_("no incoming message %(id)s") % {"id": message_id})
    if message["counterparty_id"] is not None:
        raise Conflict(_("the message is on a card already"))
    return message


async def attach_message(conn: asyncpg.Connection, user: Mapping, message_id: int, counterparty_id: int) -> dict:
    """Move the number's messages on no card onto the card; {"moved": n, "number": what happened to it}."""
    async with conn.transaction():
        message = await _unattached(conn, user, message_id)
        counterparty = await cq.get_counterparty(conn, counterparty_id)
        if counterparty is None or counterparty["deleted_at"] is not None:
            raise NotFound(_("no counterparty %(id)s") % {"id": counterparty_id})
        if not perm.can_edit(user, counterparty):
            raise Forbidden(_("you may attach messages only to a card you may edit"))
        moved = await conn.fetch("UPDATE sms_messages SET counterparty_id = $2 "
                                 "WHERE phone = $1 AND counterparty_id IS NULL RETURNING id",
                                 message["phone"], counterparty_id)
        ids = sorted(r["id"] for r in moved)
        await q.announce(conn, ids)  # the card's open chats show them
        await audit.record(conn, user["id"], "sms", message_id, "attach",
                           {"counterparty_id": [None, counterparty_id], "phone": [None, message["phone"]],
                            "messages": [None, ids]})
        said = await learn_number(conn, user["id"], counterparty_id, message["phone"], message["phone"],
                                  _("learned from SMS %(id)s") % {"id": message_id}, "learn number from sms",
                                  {"sms": [None, message_id]})
    return {"moved": len(ids), "number": said, "counterparty_id": counterparty_id}


async def attach_to_new(conn: asyncpg.Connection, user: Mapping, message_id: int, inp: CounterpartyInput,
                        region: str) -> dict:
    """A new card (as the card form makes it, checked and audited there) and the messages on it."""
    async with conn.transaction():
        await _unattached(conn, user, message_id)
        counterparty_id = await service.create(conn, user, inp, region)
        return await attach_message(conn, user, message_id, counterparty_id)
