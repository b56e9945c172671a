"""E-mail in the tables as the IMAP poller leaves it (issue 23): a mailbox, incoming messages filed on
cards or unfiled, their attachments. The pages' tests build on these rows; the poller has its own tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import asyncpg

_ids = itertools.count(1)


async def add_mailbox(conn: asyncpg.Connection, address: str = "support@crm.example", name: str = "Support",
                      enabled: bool = True) -> int:
    return await conn.fetchval(
        "INSERT INTO mailboxes (name, address, imap_host, imap_user, enabled) VALUES ($1, $2, '127.0.0.1', $2, $3) "
        "RETURNING id", name, address, enabled)


async def incoming(conn: asyncpg.Connection, *, mailbox_id: int | None, from_address: str, subject: str,
                   cards: tuple[int, ...] = (), from_name: str = "", to: tuple[str, ...] = ("support@crm.example",),
                   body_text: str = "", body_html: str = "", message_id: str | None = None,
                   in_reply_to: str = "", references: tuple[str, ...] = (), thread_id: int | None = None,
                   received_at: dt.datetime | None = None,
                   attachments: tuple[tuple[str, str, bytes | None, str], ...] = ()) -> int:
    """An incoming message: filed on `cards` (by its sender's address) or unfiled when none; attachments as
    (filename, content type, content or None when too big, content id). Its id."""
    n = next(_ids)
    message_id = message_id or f"in-{n}-{hashlib.sha256(subject.encode()).hexdigest()[:8]}@mail.example"
    row_id = await conn.fetchval(
        """INSERT INTO mail_messages (direction, mailbox_id, folder, uidvalidity, uid, message_id, in_reply_to,
               references_ids, thread_id, from_address, from_name, to_addresses, subject, sent_at, received_at,
               body_text, body_html, size_bytes, status)
           VALUES ('in', $1, 'INBOX', 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($11, now()), $12, $13,
                   $14, $15) RETURNING id""",
        mailbox_id, n if mailbox_id else None, message_id, in_reply_to, list(references), thread_id, from_address,
        from_name, list(to), subject, received_at, body_text, body_html, len(body_text) + len(body_html),
        "filed" if cards else "unfiled")
    if thread_id is None:
        await conn.execute("UPDATE mail_messages SET thread_id = id WHERE id = $1", row_id)
    for card in cards:
        await conn.execute("INSERT INTO mail_message_cards (message_id, counterparty_id, address) VALUES ($1, $2, $3)",
                           row_id, card, from_address)
    for filename, content_type, content, content_id in attachments:
        await conn.execute(
            """INSERT INTO mail_attachments (message_id, filename, content_type, content_id, size_bytes, sha256, content)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""", row_id, filename, content_type, content_id,
            len(content or b"") or 30_000_000, hashlib.sha256(content or b"").hexdigest(), content)
    return row_id


async def attachment_ids(conn: asyncpg.Connection, message_id: int) -> list[int]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM mail_attachments WHERE message_id = $1 ORDER BY id",
                                              message_id)]
