"""The web chat (issue 23, I3; seed 002): a visitor's conversation from the widget to the operator who takes
it, the card it is attached to, and the task a message left offline becomes.

Every change is NOTIFYed on CHANNEL (JSON: {"c": conversation id, "e": event, ...}) in the same
transaction, so whichever web worker serves the visitor and whichever serves each operator hear it
(web/chat_hub.py): "new" (a visitor is waiting: an invitation), "message" (id "m"), "typing" ("by"),
"accepted" ("by": user id, "name"), "closed", "attached"."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm import audit, i18n, notifications
from crm.counterparties import service as counterparties
from crm.counterparties.contacts import InvalidContact, normalize_contact
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.roles import sees_everything
from crm.tasks import queries as tasks_q
from crm.webchat import queries as q
from crm.webchat import rules

log = logging.getLogger(__name__)

CHANNEL = "crm_chat"


async def notify(conn: asyncpg.Connection, conversation_id: int, event: str, **extra) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"c": conversation_id, "e": event, **extra}))


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Arrival:
    """Where a visitor's connection comes from: its page (url, title, referrer), browser and address."""
    page: Mapping[str, str]
    user_agent: str
    ip: str | None


def page_of(raw: object) -> dict[str, str]:
    raw = raw if isinstance(raw, Mapping) else {}
    return {"url": rules.cut(raw.get("url"), rules.URL_CHARS), "title": rules.cut(raw.get("title"), rules.TITLE_CHARS),
            "referrer": rules.cut(raw.get("referrer"), rules.URL_CHARS)}


# ---- the visitor's side ----

async def visitor_hello(conn: asyncpg.Connection, site: Mapping, token: object, identity: object, arrival: Arrival,
                        now: float) -> tuple[asyncpg.Record, str, asyncpg.Record | None]:
    """(the visitor, its token, its open conversation or None): the token's visitor, or a new one with a new
    token; the identity the site signed, if it checks; the page it is on recorded."""
    visitor = None
    if isinstance(token, str) and 20 <= len(token) <= 100:
        visitor = await q.visitor_by_token(conn, site["id"], token_hash(token))
    if visitor is None:
        token = secrets.token_urlsafe(32)
        visitor = await q.insert_visitor(conn, site["id"], token_hash(token))
    assert isinstance(token, str)
    signed = rules.verify_identity(site["identity_secret"], identity if isinstance(identity, Mapping) else None, now)
    if identity and signed is None:
        log.info("chat site %s: a visitor's identity did not check (forged, expired or malformed)", site["id"])
    if signed is not None:
        visitor = await q.set_visitor_identity(conn, visitor["id"], signed.external_id, signed.name[:200],
                                               signed.email[:320], signed.phone, True)
    conversation = await q.open_conversation_of(conn, visitor["id"])
    if arrival.page["url"]:
        await q.record_page(conn, visitor["id"], conversation["id"] if conversation else None, arrival.page["url"],
                            arrival.page["title"], arrival.page["referrer"])
    return visitor, token, conversation


async def visitor_page(conn: asyncpg.Connection, visitor: Mapping, page: Mapping[str, str]) -> None:
    if page["url"]:
        conversation = await q.open_conversation_of(conn, visitor["id"])
        await q.record_page(conn, visitor["id"], conversation["id"] if conversation else None, page["url"],
                            page["title"], page["referrer"])


async def visitor_message(conn: asyncpg.Connection, site: Mapping, visitor: Mapping, body: str, arrival: Arrival,
                          region: str) -> tuple[int, int]:
    """(conversation id, message id): the message in the visitor's open conversation, or in a new one
    waiting for an operator (the operators online are invited). A phone or e-mail in it that is on a card
    attaches the conversation to that card."""
    async with conn.transaction():
        conversation = await q.open_conversation_of(conn, visitor["id"])
        if conversation is None:
            conversation_id = await q.insert_conversation(
                conn, site["id"], visitor["id"], "waiting", arrival.page, arrival.user_agent[:rules.AGENT_CHARS],
                rules.stored_ip(arrival.ip, site["anonymize_ip"]))
            await conn.execute("UPDATE chat_pages SET conversation_id = $1 WHERE visitor_id = $2 "
                               "AND conversation_id IS NULL AND at > now() - interval '1 hour'",
                               conversation_id, visitor["id"])
            await _match_visitor(conn, conversation_id, visitor, region)
            fresh = True
        else:
            conversation_id, fresh = conversation["id"], False
        message = await q.insert_message(conn, conversation_id, "visitor", None, body)
        if conversation is None or conversation["counterparty_id"] is None:
            await _match_text(conn, conversation_id, body, region)
        if fresh:
            await notify(conn, conversation_id, "new")
        await notify(conn, conversation_id, "message", m=message["id"])
    return conversation_id, message["id"]


async def visitor_typing(conn: asyncpg.Connection, visitor: Mapping) -> None:
    conversation = await q.open_conversation_of(conn, visitor["id"])
    if conversation is not None:
        await notify(conn, conversation["id"], "typing", by="visitor")


async def offline_message(conn: asyncpg.Connection, site: Mapping, visitor: Mapping, name: str, contact: str,
                          body: str, arrival: Arrival, region: str) -> tuple[int, int]:
    """(conversation id, task id): a message left while no operator was online, kept as an offline
    conversation and a task for the site's responsible user or queue (told of it)."""
    async with conn.transaction():
        email, phone = _split_contact(contact, region)
        # What the visitor types is its own word: a verified identity stays verified only while its
        # e-mail and phone are the ones the site signed.
        changed = bool((email and email != visitor["email"]) or (phone and phone != visitor["phone"]))
        visitor = await q.set_visitor_identity(conn, visitor["id"], visitor["external_id"],
                                               name or visitor["name"], email or visitor["email"],
                                               phone or visitor["phone"], visitor["verified"] and not changed)
        conversation_id = await q.insert_conversation(
            conn, site["id"], visitor["id"], "offline", arrival.page, arrival.user_agent[:rules.AGENT_CHARS],
            rules.stored_ip(arrival.ip, site["anonymize_ip"]))
        await q.insert_message(conn, conversation_id, "visitor", None, body)
        counterparty_id = await _match_visitor(conn, conversation_id, visitor, region)
        task_id = await _offline_task(conn, site, conversation_id, counterparty_id, name, contact, body)
        await q.set_task(conn, conversation_id, task_id)
        await notify(conn, conversation_id, "offline")
    log.info("chat site %s: offline message kept as conversation %d, task %d", site["id"], conversation_id, task_id)
    return conversation_id, task_id


async def _offline_task(conn: asyncpg.Connection, site: Mapping, conversation_id: int, counterparty_id: int | None,
                        name: str, contact: str, body: str) -> int:
    responsible, queue_id = site["offline_user_id"], site["offline_queue_id"]
    if responsible is None and queue_id is None:
        queue_id = await conn.fetchval("SELECT id FROM queues WHERE is_default AND deleted_at IS NULL")
    type_id = await tasks_q.type_by_code(conn, "task")
    people = [responsible] if responsible is not None else [r["user_id"] for r in await conn.fetch(
        """SELECT m.user_id FROM queue_members m JOIN users u ON u.id = m.user_id
           WHERE m.queue_id = $1 AND u.deleted_at IS NULL AND NOT u.is_blocked ORDER BY m.user_id""", queue_id)]
    language = await notifications.recipient_language(conn, people[0]) if people else i18n.current()
    with i18n.using(language):
        title = _("Chat message from %(who)s") % {"who": name or contact or _("a site visitor")}
        remark = f"{contact}\n{body}".strip()[:10_000]
    task_id = await conn.fetchval(
        """INSERT INTO tasks (title, type_id, responsible_user_id, queue_id, counterparty_id, remark)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        title[:200], type_id, responsible, queue_id if responsible is None else None, counterparty_id, remark)
    for user_id in people:
        await notifications.queue(conn, user_id, "task_assigned" if responsible else "queue_task", title,
                                  body[:300], f"/tasks/{task_id}")
    return task_id


def _split_contact(contact: str, region: str) -> tuple[str, str]:
    """(e-mail, phone) of what the visitor wrote in the offline form's contact field."""
    contact = (contact or "").strip()
    if "@" in contact:
        return contact[:320], ""
    return "", contact[:64]


def _normalized(kind: str, value: str, region: str) -> str | None:
    try:
        return normalize_contact(kind, value, region)
    except InvalidContact:
        return None


async def _attach_by(conn: asyncpg.Connection, conversation_id: int, values: list[str]) -> int | None:
    keys = [v for v in values if v]
    if not keys:
        return None
    card = await q.card_of_contacts(conn, keys)
    if card is not None:
        await q.attach(conn, conversation_id, card, "auto")
        await notify(conn, conversation_id, "attached")
        log.info("chat %d attached to card %d by the visitor's contact", conversation_id, card)
    return card


async def _match_visitor(conn: asyncpg.Connection, conversation_id: int, visitor: Mapping, region: str) -> int | None:
    keys = []
    if visitor["email"]:
        keys.append(_normalized("email", visitor["email"], region))
    if visitor["phone"]:
        keys.append(_normalized("phone", visitor["phone"], region))
    return await _attach_by(conn, conversation_id, [k for k in keys if k])


async def _match_text(conn: asyncpg.Connection, conversation_id: int, body: str, region: str) -> int | None:
    emails, phones = rules.contacts_in(body)
    keys = [_normalized("email", e, region) for e in emails] + [_normalized("phone", p, region) for p in phones]
    return await _attach_by(conn, conversation_id, [k for k in keys if k])


# ---- the operator's side ----

async def conversation(conn: asyncpg.Connection, user: Mapping, conversation_id: int) -> dict:
    """The conversation as this user may see it (else NotFound), with may_write/may_close/may_take."""
    row = await q.conversation(conn, conversation_id)
    sees_card = False
    if row is not None and row["counterparty_id"] is not None and not sees_everything(user):
        try:
            await counterparties.card(conn, user, row["counterparty_id"])
            sees_card = True
        except NotFound:
            pass
    if row is None or not rules.may_see(user, row, sees_card):
        raise NotFound(_("no chat %(number)d") % {"number": conversation_id})
    out = dict(row)
    out.update(may_write=rules.may_write(user, row), may_close=rules.may_close(user, row),
               may_take=rules.may_take(user, row), may_attach=rules.may_attach(user, row))
    return out


async def accept(conn: asyncpg.Connection, user: Mapping, conversation_id: int) -> None:
    """The first operator to accept takes it (a conditional UPDATE); the others are told who did - an invitation
    they saw, though the chat is no longer theirs to see."""
    current = await q.conversation(conn, conversation_id)
    if current is None:
        raise NotFound(_("no chat %(number)d") % {"number": conversation_id})
    async with conn.transaction():
        if not rules.may_take(user, current) or not await q.accept(conn, conversation_id, user["id"]):
            taken = await q.conversation(conn, conversation_id)
            if taken is not None and taken["operator_name"]:
                raise Conflict(_("taken by %(name)s") % {"name": taken["operator_name"]})
            raise Conflict(_("this chat is no longer waiting"))
        await notify(conn, conversation_id, "accepted", by=user["id"], name=user["full_name"])
    log.info("user %s took chat %d", user["id"], conversation_id)


async def operator_message(conn: asyncpg.Connection, user: Mapping, conversation_id: int, text: object) -> int:
    body, why = rules.clean_text(text)
    if body is None:
        raise ValidationError({"body": _("write a message") if why == "empty" else
                               _("a message is at most %(num)d characters") % {"num": rules.MAX_MESSAGE_CHARS}})
    current = await conversation(conn, user, conversation_id)
    if not rules.may_write(user, current):
        raise Forbidden(_("only the operator who took the chat writes in it, while it is open"))
    async with conn.transaction():
        message = await q.insert_message(conn, conversation_id, "operator", user["id"], body)
        await notify(conn, conversation_id, "message", m=message["id"])
    return message["id"]


async def operator_typing(conn: asyncpg.Connection, user: Mapping, conversation_id: int) -> None:
    current = await conversation(conn, user, conversation_id)
    if rules.may_write(user, current):
        await notify(conn, conversation_id, "typing", by="operator")


async def close(conn: asyncpg.Connection, user: Mapping | None, conversation_id: int) -> None:
    """Closed by its operator or a supervisor (user), or by the visitor (None)."""
    if user is not None:
        current = await conversation(conn, user, conversation_id)
        if not rules.may_close(user, current):
            raise Forbidden(_("only the operator who took the chat closes it"))
    async with conn.transaction():
        if await q.close(conn, conversation_id):
            await notify(conn, conversation_id, "closed", by="operator" if user is not None else "visitor")


async def attach(conn: asyncpg.Connection, user: Mapping, conversation_id: int, counterparty_id: int | None) -> None:
    current = await conversation(conn, user, conversation_id)
    if not rules.may_attach(user, current):
        raise Forbidden(_("only the operator who took the chat attaches it to a card"))
    if counterparty_id is not None:
        await counterparties.card(conn, user, counterparty_id)  # NotFound for a card the user may not see
    async with conn.transaction():
        await q.attach(conn, conversation_id, counterparty_id, "operator" if counterparty_id else None)
        await audit.record(conn, user["id"], "chat", conversation_id, "attach",
                           {"counterparty_id": [current["counterparty_id"], counterparty_id]})
        await notify(conn, conversation_id, "attached")


async def transcripts(conn: asyncpg.Connection, conversation_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {i: [] for i in conversation_ids}
    for row in await q.messages_of(conn, conversation_ids):
        out[row["conversation_id"]].append(dict(row))
    return out
