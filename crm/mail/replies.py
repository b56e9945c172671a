"""E-mail written on the card (issue 23, I4): a reply in a thread or a new message to the card's address.

The pure part builds the message: "Re:" once, In-Reply-To and References of the thread (RFC 5322 3.6.4),
a Message-ID of our own at the mailbox's domain, names and subjects in any script encoded by the
stdlib's email package (RFC 2047). `queue` stores it as an outgoing mail_messages row (queued) filed
on the card at once, so the timeline shows it before it leaves; web/mail_sender.py sends it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime

import asyncpg

from crm import audit
from crm.counterparties import service as counterparties
from crm.errors import Conflict, ValidationError
from crm.i18n import gettext as _
from crm.mail import queries as q
from crm.mail.addresses import format_address, normalize_address

MAX_SUBJECT = 900
MAX_BODY = 200_000
MAX_REFERENCES = 30  # the thread's ids kept in References: the first and the latest ones
_RE = re.compile(r"^\s*(re|aw|ha|отв)\s*(\[\d+\])?\s*:\s*", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """'Re: ' + the subject, without piling up 'Re: Re: ' (nor the Russian 'Отв:')."""
    stripped = subject.strip()
    while _RE.match(stripped):
        stripped = _RE.sub("", stripped, count=1)
    return f"Re: {stripped}" if stripped else "Re:"


def references(thread: Sequence[Mapping]) -> tuple[str, list[str]]:
    """(In-Reply-To, References) of a reply to the last message of `thread` (oldest first): the message
    replied to, and its References followed by its own id; long chains keep the first and the latest."""
    if not thread:
        return "", []
    last = thread[-1]
    chain = [r for r in (last.get("references_ids") or []) if r] or [m["message_id"] for m in thread[:-1]]
    chain = [*chain, last["message_id"]]
    unique = list(dict.fromkeys(chain))  # each id once, in order
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[-(MAX_REFERENCES - 1):]]
    return last["message_id"], unique


def new_message_id(mailbox_address: str) -> str:
    """Our own Message-ID (without <>), at the mailbox's domain."""
    domain = mailbox_address.rpartition("@")[2] or "localhost"
    return f"{uuid.uuid4().hex}@{domain}"


def check(to: str, subject: str, body: str) -> str:
    """The recipient normalized, or a ValidationError naming what to fix (pure)."""
    errors = {}
    address = normalize_address(to)
    if not address:
        errors["to"] = _("choose an e-mail address to write to")
    if not subject.strip():
        errors["subject"] = _("write a subject")
    elif len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        errors["subject"] = _("the subject is one line of at most %(n)d characters") % {"n": MAX_SUBJECT}
    if not body.strip():
        errors["body"] = _("write the text of the e-mail")
    elif len(body) > MAX_BODY:
        errors["body"] = _("the text is longer than %(n)d characters") % {"n": MAX_BODY}
    if errors:
        raise ValidationError(errors)
    return address


def build(row: Mapping) -> EmailMessage:
    """The message as it goes to SMTP, from a stored outgoing row (pure)."""
    message = EmailMessage()
    message["From"] = format_address(row.get("from_name") or "", row["from_address"])
    message["To"] = ", ".join(row["to_addresses"])
    message["Subject"] = row["subject"]
    message["Message-ID"] = f"<{row['message_id']}>"
    message["Date"] = format_datetime(row["received_at"])
    if row["in_reply_to"]:
        message["In-Reply-To"] = f"<{row['in_reply_to']}>"
    if row["references_ids"]:
        message["References"] = " ".join(f"<{r}>" for r in row["references_ids"])
    message.set_content(row["body_text"], cte="quoted-printable")  # 7-bit clean: any server takes it
    return message


def recipients(card: Mapping, thread: Sequence[Mapping], mailboxes: set[str]) -> list[str]:
    """Whom a reply may go to: the thread's other side first (who wrote its latest incoming message),
    then the card's e-mail contacts; never one of our own mailboxes."""
    found: list[str] = []
    for m in reversed(thread):
        if m["direction"] == "in" and m["from_address"]:
            found.append(normalize_address(m["from_address"]))
            break
    found += [c["normalized"] for c in card["contacts"] if c["kind"] == "email"]
    return [a for a in dict.fromkeys(found) if a and a not in mailboxes]


async def mailbox_for(conn: asyncpg.Connection, thread: Sequence[Mapping]) -> asyncpg.Record | None:
    """The mailbox the thread came in on (its latest message's), else the first enabled one."""
    for m in reversed(thread):
        if m["mailbox_id"] is not None:
            row = await conn.fetchrow("SELECT id, name, address FROM mailboxes WHERE id = $1 AND deleted_at IS NULL",
                                      m["mailbox_id"])
            if row is not None:
                return row
    return await conn.fetchrow("SELECT id, name, address FROM mailboxes WHERE enabled AND deleted_at IS NULL "
                               "ORDER BY id LIMIT 1")


async def mailbox_addresses(conn: asyncpg.Connection) -> set[str]:
    return {r["a"] for r in await conn.fetch("SELECT lower(address) AS a FROM mailboxes WHERE deleted_at IS NULL")}


async def form(conn: asyncpg.Connection, user: Mapping, counterparty_id: int, thread_id: int | None) -> dict:
    """What the reply form offers: the card, the thread (if a reply), the addresses, the prefilled subject."""
    card = await counterparties.card(conn, user, counterparty_id)  # NotFound for a card the user may not see
    thread = await _thread_on_card(conn, counterparty_id, thread_id)
    return {"card": card, "thread": thread, "thread_id": thread_id if thread else None,
            "addresses": recipients(card, thread, await mailbox_addresses(conn)),
            "subject": reply_subject(thread[-1]["subject"]) if thread else ""}


async def _thread_on_card(conn: asyncpg.Connection, counterparty_id: int, thread_id: int | None) -> list[dict]:
    if thread_id is None:
        return []
    on_card = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM mail_message_cards c JOIN mail_messages m ON m.id = c.message_id
                          WHERE c.counterparty_id = $1 AND coalesce(m.thread_id, m.id) = $2)""",
        counterparty_id, thread_id)
    return await q.thread_messages(conn, thread_id) if on_card else []


async def queue(conn: asyncpg.Connection, user: Mapping, counterparty_id: int, thread_id: int | None, to: str,
                subject: str, body: str) -> int:
    """Store the e-mail as queued and file it on the card; its id. Raises a DomainError saying what to fix."""
    body = body.replace("\r\n", "\n")  # as a form sends a textarea's lines; SMTP's own are made when sent
    address = check(to, subject, body)
    async with conn.transaction():
        offered = await form(conn, user, counterparty_id, thread_id)
        if address not in offered["addresses"]:
            raise ValidationError({"to": _("%(address)s is not an address of this card or thread") % {
                "address": address}})
        mailbox = await mailbox_for(conn, offered["thread"])
        if mailbox is None:
            raise Conflict(_("e-mail cannot be sent: there is no mailbox yet; ask the administrator to add one"))
        in_reply_to, refs = references(offered["thread"])
        message_id = await conn.fetchval(
            """INSERT INTO mail_messages (direction, mailbox_id, message_id, in_reply_to, references_ids, thread_id,
                   from_address, from_name, to_addresses, subject, body_text, size_bytes, status, user_id,
                   next_attempt_at)
               VALUES ('out', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', $12, now()) RETURNING id""",
            mailbox["id"], new_message_id(mailbox["address"]), in_reply_to, refs, offered["thread_id"],
            mailbox["address"], mailbox["name"], [address], subject.strip(), body, len(body.encode()), user["id"])
        if offered["thread_id"] is None:
            await conn.execute("UPDATE mail_messages SET thread_id = id WHERE id = $1", message_id)
        await conn.execute("INSERT INTO mail_message_cards (message_id, counterparty_id, address, filed_by, "
                           "filed_by_user_id) VALUES ($1, $2, $3, 'user', $4)",
                           message_id, counterparty_id, address, user["id"])
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "send email", {
            "mail": [None, message_id], "address": [None, address], "subject": [None, subject.strip()]})
        await conn.execute("SELECT pg_notify('mail_status', $1)", str(message_id))
    return message_id
