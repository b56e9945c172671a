"""What the gateways hand back (issue 21): delivery receipts and incoming messages.

Every adapter, whatever its protocol (SMPP deliver_sm, SIP MESSAGE through ARI, an HTTP webhook), ends
here: `Inbox` is crm.sms.gateway.Inbox over the database. An incoming message lands on the card its number
belongs to (or on none, to be attached from the SMS list), a STOP reply opts the number out, and the
card's responsible manager is told in the browser (and by e-mail if they asked for it).
"""

from __future__ import annotations

import logging

import asyncpg

from crm import i18n, notifications
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.sms import model
from crm.sms import queries as q
from crm.sms.gateway import Incoming, Receipt

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, pool: asyncpg.Pool, default_region: str) -> None:
        self.pool = pool
        self.region = default_region

    async def receipt(self, gateway_id: int, receipt: Receipt) -> None:
        async with self.pool.acquire() as conn:
            finished = await q.apply_receipt(conn, gateway_id, receipt.provider_message_id, receipt.status,
                                             receipt.detail)
        log.info("sms receipt gateway %d id %s: %s%s", gateway_id, receipt.provider_message_id, receipt.status,
                 f" (message {finished} final)" if finished else "")

    async def incoming(self, gateway_id: int | None, message: Incoming) -> int | None:
        """Store it; the message's id, or None for a sender number that cannot be read (logged)."""
        try:
            phone = normalize_phone(message.sender, self.region)
        except InvalidPhone:
            log.warning("sms from unreadable number %r through gateway %s dropped", message.sender, gateway_id)
            return None
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                row = await q.record_incoming(conn, phone=phone, own_number=message.recipient, body=message.body,
                                              gateway_id=gateway_id)
                if model.is_stop_word(message.body):
                    await opt_out(conn, phone, row["counterparty_id"], _("replied %(text)s") % {"text": message.body})
                await _tell_manager(conn, row["id"], row["counterparty_id"], phone, message.body)
        log.info("sms %d in from %s to %s (card %s)", row["id"], phone, message.recipient, row["counterparty_id"])
        return row["id"]


async def opt_out(conn: asyncpg.Connection, phone: str, counterparty_id: int | None, reason: str) -> None:
    """No more texts to this number: the card's do-not-text flag, or the number's own row if no card."""
    if counterparty_id is not None:
        await conn.execute("UPDATE counterparties SET sms_opt_out_at = coalesce(sms_opt_out_at, now()), "
                           "sms_opt_out_reason = $2 WHERE id = $1", counterparty_id, reason[:200])
    await conn.execute("INSERT INTO sms_opt_outs (phone, reason) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING",
                       phone, reason[:200])


async def is_opted_out(conn: asyncpg.Connection, phone: str, counterparty_id: int | None) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sms_opt_outs WHERE phone = $1) "
        "OR EXISTS (SELECT 1 FROM counterparties WHERE id = $2 AND sms_opt_out_at IS NOT NULL)",
        phone, counterparty_id)


async def _tell_manager(conn: asyncpg.Connection, message_id: int, counterparty_id: int | None, phone: str,
                        body: str) -> None:
    if counterparty_id is None:
        return  # nobody's yet: the SMS list shows it as unattached
    card = await conn.fetchrow(
        "SELECT c.display_name, c.responsible_user_id, u.sms_email_notify FROM counterparties c "
        "LEFT JOIN users u ON u.id = c.responsible_user_id AND u.deleted_at IS NULL AND NOT u.is_blocked "
        "WHERE c.id = $1", counterparty_id)
    if card is None or card["responsible_user_id"] is None or card["sms_email_notify"] is None:
        return
    with i18n.using(await notifications.recipient_language(conn, card["responsible_user_id"])):
        title = _("SMS from %(name)s") % {"name": card["display_name"] or phone}
    await notifications.queue(conn, card["responsible_user_id"], "sms_in", title, body[:500],
                              f"/counterparties/{counterparty_id}#sms", email=card["sms_email_notify"])
