"""The SQL of incoming e-mail (issue 23): mailboxes the poller reads, folder cursors, the cards of
addresses, threads, and a message stored with its cards and attachments."""

from __future__ import annotations

import asyncpg

from crm.mail.inbound.parse import Attachment, Parsed

MAILBOX_COLUMNS = """id, name, address, imap_host, imap_port, imap_security, imap_user, imap_password, folders,
                     enabled, last_error, last_polled_at"""


async def enabled_mailboxes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE enabled AND deleted_at IS NULL "
                            "ORDER BY id")


async def mailbox_polled(conn: asyncpg.Connection, mailbox_id: int, error: str) -> None:
    """The poller's last word on a mailbox, for the admin page: '' after a good read, else what failed."""
    await conn.execute("UPDATE mailboxes SET last_error = $2, last_polled_at = CASE WHEN $2 = '' THEN now() "
                       "ELSE last_polled_at END WHERE id = $1", mailbox_id, error[:1000])


async def cursor(conn: asyncpg.Connection, mailbox_id: int, folder: str) -> tuple[int, int] | None:
    row = await conn.fetchrow("SELECT uidvalidity, last_uid FROM mail_cursors WHERE mailbox_id = $1 AND folder = $2",
                              mailbox_id, folder)
    return (row["uidvalidity"], row["last_uid"]) if row else None


async def move_cursor(conn: asyncpg.Connection, mailbox_id: int, folder: str, uidvalidity: int, uid: int) -> None:
    """The folder read up to `uid` (never back, within one UIDVALIDITY; a new UIDVALIDITY starts over)."""
    await conn.execute(
        """INSERT INTO mail_cursors (mailbox_id, folder, uidvalidity, last_uid) VALUES ($1, $2, $3, $4)
           ON CONFLICT (mailbox_id, folder) DO UPDATE SET
               uidvalidity = EXCLUDED.uidvalidity,
               last_uid = CASE WHEN mail_cursors.uidvalidity = EXCLUDED.uidvalidity
                               THEN GREATEST(mail_cursors.last_uid, EXCLUDED.last_uid) ELSE EXCLUDED.last_uid END,
               updated_at = now()""", mailbox_id, folder, uidvalidity, uid)


async def cards_by_address(conn: asyncpg.Connection, addresses: list[str]) -> list[tuple[int, str]]:
    """(counterparty id, address) for each address a live card has as an e-mail contact."""
    rows = await conn.fetch(
        """SELECT k.counterparty_id, k.normalized FROM contacts k
           JOIN counterparties c ON c.id = k.counterparty_id AND c.deleted_at IS NULL
           WHERE k.kind = 'email' AND k.deleted_at IS NULL AND k.normalized = ANY($1::text[])
           ORDER BY array_position($1::text[], k.normalized)""", addresses)
    return [(r["counterparty_id"], r["normalized"]) for r in rows]


async def thread_of(conn: asyncpg.Connection, parents: list[str]) -> int | None:
    """The thread of the nearest parent already stored (parents: nearest first)."""
    if not parents:
        return None
    return await conn.fetchval(
        """SELECT thread_id FROM mail_messages WHERE message_id = ANY($1::text[])
           ORDER BY array_position($1::text[], message_id) LIMIT 1""", parents)


async def known(conn: asyncpg.Connection, message_id: str, *, mailbox_id: int, folder: str, uidvalidity: int,
                uid: int, from_address: str) -> bool:
    """Whether the message is there already (read before, in another folder, or written in the CRM). One
    written in the CRM and not yet seen in a folder learns where it is now (its Sent copy, say) - when the
    copy is from the same address: a stranger's message reusing its Message-ID moves nothing."""
    await conn.execute(
        """UPDATE mail_messages SET mailbox_id = $2, folder = $3, uidvalidity = $4, uid = $5
           WHERE message_id = $1 AND direction = 'out' AND uid IS NULL AND lower(from_address) = lower($6)""",
        message_id, mailbox_id, folder, uidvalidity, uid, from_address)
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM mail_messages WHERE message_id = $1)", message_id))


async def insert_message(conn: asyncpg.Connection, parsed: Parsed, *, mailbox_id: int, folder: str,
                         uidvalidity: int, uid: int, thread_id: int | None, status: str) -> int | None:
    """The message's new id, or None when it is there already (its Message-ID, or this UID)."""
    new_id = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('mail_messages', 'id'))")
    inserted = await conn.fetchval(
        """INSERT INTO mail_messages (id, direction, mailbox_id, folder, uidvalidity, uid, message_id, in_reply_to,
               references_ids, thread_id, from_address, from_name, to_addresses, cc_addresses, subject, sent_at,
               body_text, body_html, size_bytes, status, problem)
           VALUES ($1::bigint, 'in', $2, $3, $4, $5, $6, $7, $8, COALESCE($9::bigint, $1::bigint), $10, $11, $12,
                   $13, $14, $15, $16, $17, $18, $19, $20)
           ON CONFLICT DO NOTHING RETURNING id""",
        new_id, mailbox_id, folder, uidvalidity, uid, parsed.message_id, parsed.in_reply_to, parsed.references,
        thread_id, parsed.from_address, parsed.from_name, parsed.to, parsed.cc, parsed.subject, parsed.sent_at,
        parsed.body_text, parsed.body_html, min(parsed.size_bytes, 2**31 - 1), status, parsed.problem)
    return inserted


async def file_on_cards(conn: asyncpg.Connection, message_id: int, cards: list[tuple[int, str]]) -> None:
    await conn.executemany(
        """INSERT INTO mail_message_cards (message_id, counterparty_id, address) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""", [(message_id, card, address) for card, address in cards])


async def insert_attachments(conn: asyncpg.Connection, message_id: int, attachments: list[Attachment]) -> None:
    await conn.executemany(
        """INSERT INTO mail_attachments (message_id, filename, content_type, content_id, size_bytes, sha256, content)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(message_id, a.filename, a.content_type, a.content_id, a.size_bytes, a.sha256, a.content)
         for a in attachments])
