"""Texting from a card (issue 21, I1): what a user may send, and the card's do-not-text switch.

send_text checks everything a person can fix (the number, the text, its length, the client's opt-out,
a sending number set up by the admin) and queues the message; it never talks to a gateway: the sender
worker (`pbxcrm sms`) does. Every send and every change of the switch is in the card's audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.counterparties import service as counterparties
from crm.errors import Conflict, Forbidden, ValidationError
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.sms import inbox, model
from crm.sms import queries as q

DEFAULT_MAX_PARTS = 10


def check_text(body: str, max_parts: int) -> model.Split:
    """The text's parts, or a ValidationError a person can act on (pure)."""
    if not body.strip():
        raise ValidationError({"body": _("write the text of the message")})
    parts = model.split(body)
    if parts.parts > max_parts:
        raise ValidationError({"body": _("the text takes %(parts)d SMS parts; at most %(max)d are sent") % {
            "parts": parts.parts, "max": max_parts}})
    return parts


def card_phone(card: Mapping, phone_raw: str, region: str) -> str:
    """The number to text as E.164: one of the card's phones, or a number typed in (pure)."""
    raw = phone_raw.strip()
    if not raw:
        raise ValidationError({"phone": _("choose the number to send to")})
    for contact in card["contacts"]:
        if contact["kind"] == "phone" and raw in (contact["value"], contact["normalized"]):
            return contact["normalized"]
    try:
        return normalize_phone(raw, region)
    except InvalidPhone as e:
        raise ValidationError({"phone": _("%(number)s is not a phone number an SMS can go to: %(reason)s") % {
            "number": raw, "reason": str(e)}}) from None


async def send_text(conn: asyncpg.Connection, user: Mapping, counterparty_id: int, phone_raw: str, body: str,
                    region: str, *, max_parts: int = DEFAULT_MAX_PARTS) -> int:
    """Queue an SMS to the card's client; the message's id. Raises a DomainError saying what to fix."""
    card = await counterparties.card(conn, user, counterparty_id)  # NotFound for a card the user cannot see
    phone = card_phone(card, phone_raw, region)
    parts = check_text(body, max_parts)
    async with conn.transaction():
        if await inbox.is_opted_out(conn, phone, counterparty_id):
            reason = await conn.fetchval("SELECT sms_opt_out_reason FROM counterparties WHERE id = $1",
                                         counterparty_id)
            raise Conflict(_("%(name)s asked not to be texted%(reason)s") % {
                "name": card["display_name"], "reason": f" ({reason})" if reason else ""})
        gateway = await q.gateway_for(conn, None)
        if gateway is None:
            raise Conflict(_("SMS cannot be sent: there is no sending number yet; ask the administrator to "
                             "set up an SMS gateway"))
        message_id = await q.queue_outgoing(conn, phone=phone, body=body, counterparty_id=counterparty_id,
                                            user_id=user["id"], own_number=gateway["number"],
                                            gateway_id=gateway["gateway_id"])
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "send sms", {
            "sms": [None, message_id], "phone": [None, phone], "body": [None, body],
            "parts": [None, f"{parts.parts} {parts.encoding}"]})
    return message_id


async def set_opt_out(conn: asyncpg.Connection, user: Mapping, counterparty_id: int, opt_out: bool,
                      reason: str = "") -> None:
    """The card's do-not-text switch. Anyone who sees the card may honour a client's "do not text me";
    only who may edit the card may text them again (and the numbers' STOP rows go with it)."""
    card = await counterparties.card(conn, user, counterparty_id)
    if not opt_out and not card["can_edit"]:
        raise Forbidden(_("only who may edit this card may allow texting it again"))
    async with conn.transaction():
        row = await conn.fetchrow("SELECT sms_opt_out_at, sms_opt_out_reason FROM counterparties "
                                  "WHERE id = $1 FOR UPDATE", counterparty_id)
        was = row["sms_opt_out_at"] is not None
        if opt_out:
            reason = reason.strip()[:200] or _("set by %(name)s") % {"name": user["full_name"]}
            await conn.execute("UPDATE counterparties SET sms_opt_out_at = coalesce(sms_opt_out_at, now()), "
                               "sms_opt_out_reason = $2 WHERE id = $1", counterparty_id, reason)
        else:
            reason = ""
            await conn.execute("UPDATE counterparties SET sms_opt_out_at = NULL, sms_opt_out_reason = '' "
                               "WHERE id = $1", counterparty_id)
            await conn.execute("DELETE FROM sms_opt_outs WHERE phone IN (SELECT normalized FROM contacts "
                               "WHERE counterparty_id = $1 AND deleted_at IS NULL)", counterparty_id)
        if was != opt_out or reason != row["sms_opt_out_reason"]:
            await audit.record(conn, user["id"], "counterparty", counterparty_id,
                               "do not text" if opt_out else "may text", {
                                   "sms_opt_out": [was, opt_out],
                                   "sms_opt_out_reason": [row["sms_opt_out_reason"], reason]})


async def chat(conn: asyncpg.Connection, user: Mapping, counterparty_id: int) -> dict:
    """The card's chat, for a reader who may see the card (NotFound otherwise)."""
    return await chat_of(conn, await counterparties.card(conn, user, counterparty_id))


async def chat_of(conn: asyncpg.Connection, card: Mapping) -> dict:
    """A card already read (crm.counterparties.service.card): its messages with their status history and
    author, the phones it can be texted at, and whether it may not be."""
    messages = [dict(m) for m in await q.for_counterparty(conn, card["id"])]
    ids = [m["id"] for m in messages]
    steps: dict[int, list[dict]] = {i: [] for i in ids}
    for row in await conn.fetch("SELECT message_id, status, detail, at FROM sms_status_history "
                                "WHERE message_id = ANY($1::bigint[]) ORDER BY at, id", ids):
        steps[row["message_id"]].append({"status": row["status"], "detail": row["detail"], "at": row["at"]})
    authors = dict(await conn.fetch("SELECT id, full_name FROM users WHERE id = ANY($1::bigint[])",
                                    list({m["user_id"] for m in messages if m["user_id"]})))
    for m in messages:
        m["history"] = steps[m["id"]]
        m["author"] = authors.get(m["user_id"], "")
    opt_out = await conn.fetchrow("SELECT sms_opt_out_at AS at, sms_opt_out_reason AS reason FROM counterparties "
                                  "WHERE id = $1", card["id"])
    incoming = [m["id"] for m in messages if m["direction"] == "in"]
    return {"counterparty_id": card["id"], "messages": messages,
            "unread": sum(1 for m in messages if m["direction"] == "in" and m["read_at"] is None),
            "last_in": max(incoming, default=None),
            "opt_out": dict(opt_out) if opt_out["at"] else None,
            "phones": [{"value": c["value"], "normalized": c["normalized"]}
                       for c in card["contacts"] if c["kind"] == "phone"],
            "can_edit": bool(card["can_edit"])}


async def mark_read(conn: asyncpg.Connection, user: Mapping, counterparty_id: int, up_to: int) -> int:
    """Incoming messages up to `up_to` read (the reader had the chat open); how many were unread."""
    await counterparties.card(conn, user, counterparty_id)
    result = await conn.execute("UPDATE sms_messages SET read_at = now() WHERE counterparty_id = $1 "
                                "AND direction = 'in' AND read_at IS NULL AND id <= $2", counterparty_id, up_to)
    return int(result.split()[-1])


async def email_notify(conn: asyncpg.Connection, user_id: int) -> bool:
    """Whether the user has incoming SMS on their cards e-mailed to them too (crm/sms/inbox.py)."""
    return bool(await conn.fetchval("SELECT sms_email_notify FROM users WHERE id = $1", user_id))


async def set_email_notify(conn: asyncpg.Connection, user_id: int, on: bool) -> None:
    async with conn.transaction():
        was = await conn.fetchval("SELECT sms_email_notify FROM users WHERE id = $1 FOR UPDATE", user_id)
        if was is not None and was != on:
            await conn.execute("UPDATE users SET sms_email_notify = $2 WHERE id = $1", user_id, on)
            await audit.record(conn, user_id, "user", user_id, "sms e-mail", {"sms_email_notify": [was, on]})
