"""One message filed: stored with its attachments, on the cards of its addresses, in its thread, and its
folder's cursor moved past it, all in one transaction (a crash before the commit files nothing, after it
the cursor says so: nothing twice, nothing lost). NOTIFY crm.mail.FILED_CHANNEL when it commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from crm.mail import FILED_CHANNEL
from crm.mail.inbound import queries as q
from crm.mail.inbound import rules
from crm.mail.inbound.parse import Parsed, digest_message_id, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Where:
    mailbox_id: int
    own_address: str
    folder: str
    uidvalidity: int


@dataclass(frozen=True)
class Filed:
    message_id: int | None  # None: it was there already (the same Message-ID read again)
    status: str  # filed | unfiled | duplicate
    cards: tuple[int, ...] = ()


# What makes one message unstorable (the database refuses its data, or the parser failed on it), as
# against a database that is unavailable or a bug in our SQL, which no message is passed for.
REFUSED: tuple[type[BaseException], ...] = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError,
                                            asyncpg.ProgramLimitExceededError, ValueError, LookupError,
                                            TypeError, AttributeError)


def headers_only(raw: bytes, max_attachment_bytes: int, reason: str) -> Parsed:
    """What is kept of a message refused whole: its headers (if even they cannot be read, its digest as its
    Message-ID), and why the rest is missing."""
    try:
        parsed = parse(raw, max_attachment_bytes)
    except Exception as e:
        parsed = Parsed(message_id=digest_message_id(raw), size_bytes=len(raw),
                        problems=[f"not readable ({type(e).__name__})"])
    parsed.body_text = parsed.body_html = ""
    parsed.attachments = []
    parsed.problems.append(f"stored without bodies and attachments: the message was refused ({reason})")
    return parsed


async def file_message(conn: asyncpg.Connection, where: Where, uid: int, raw: bytes, *, max_attachment_bytes: int,
                       plan: str = "full", reason: str = "") -> Filed:
    if plan == "headers":
        parsed = headers_only(raw, max_attachment_bytes, reason)
    else:
        parsed = parse(raw, max_attachment_bytes)
    async with conn.transaction():
        if await q.known(conn, parsed.message_id, mailbox_id=where.mailbox_id, folder=where.folder,
                         uidvalidity=where.uidvalidity, uid=uid, from_address=parsed.from_address):
            await q.move_cursor(conn, where.mailbox_id, where.folder, where.uidvalidity, uid)
            return Filed(None, "duplicate")
        cards = await q.cards_by_address(conn, rules.card_addresses(parsed, where.own_address))
        thread_id = await q.thread_of(conn, rules.thread_parents(parsed))
        status = rules.status_for(len(cards))
        message_id = await q.insert_message(conn, parsed, mailbox_id=where.mailbox_id, folder=where.folder,
                                            uidvalidity=where.uidvalidity, uid=uid, thread_id=thread_id,
                                            status=status)
        if message_id is None:  # filed meanwhile by another poller
            await q.move_cursor(conn, where.mailbox_id, where.folder, where.uidvalidity, uid)
            return Filed(None, "duplicate")
        await q.file_on_cards(conn, message_id, cards)
        await q.insert_attachments(conn, message_id, parsed.attachments)
        await q.move_cursor(conn, where.mailbox_id, where.folder, where.uidvalidity, uid)
        await conn.execute("SELECT pg_notify($1, $2)", FILED_CHANNEL, str(message_id))
    if parsed.problem:
        log.info("mail %s uid %d (%s): %s", where.folder, uid, parsed.message_id, parsed.problem)
    return Filed(message_id, status, tuple(card for card, _ in cards))


async def pass_message(conn: asyncpg.Connection, where: Where, uid: int, reason: str) -> None:
    """The cursor moved past a message that could not be stored at all (logged by the caller)."""
    await q.move_cursor(conn, where.mailbox_id, where.folder, where.uidvalidity, uid)
    await q.mailbox_polled(conn, where.mailbox_id, f"{where.folder} UID {uid} not stored: {reason}")
