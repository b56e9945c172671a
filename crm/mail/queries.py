"""E-mail as users read and file it (issue 23, I4): a card's threads, a message, its attachments, the
unfiled inbox, filing by a user. Every value a $n parameter; who may see what is decided by the callers
(crm/mail/reading.py) from the cards a message is filed on."""

from __future__ import annotations

import asyncpg

_MESSAGE_COLUMNS = """m.id, m.direction, m.mailbox_id, m.message_id, m.in_reply_to, m.references_ids,
    coalesce(m.thread_id, m.id) AS thread_id, m.from_address, m.from_name, m.to_addresses, m.cc_addresses,
    m.subject, m.sent_at, m.received_at, coalesce(m.sent_at, m.received_at) AS at, m.body_text, m.body_html,
    m.size_bytes, m.status, m.problem, m.user_id, m.attempts, m.next_attempt_at, m.error,
    (SELECT count(*) FROM mail_attachments a WHERE a.message_id = m.id) AS attachments"""


async def card_threads(conn: asyncpg.Connection, counterparty_id: int, page: int = 1,
                       size: int = 20) -> tuple[list[dict], bool]:
    """The card's threads, the latest activity first, each with its messages filed on the card (newest
    first): ([{"thread_id", "at", "messages": [...]}, ...], whether there are more)."""
    rows = await conn.fetch(
        """SELECT coalesce(m.thread_id, m.id) AS thread_id, max(m.received_at) AS at
           FROM mail_message_cards c JOIN mail_messages m ON m.id = c.message_id
           WHERE c.counterparty_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT $2 OFFSET $3""",
        counterparty_id, size + 1, (page - 1) * size)
    threads = [dict(r) for r in rows[:size]]
    if not threads:
        return [], False
    messages = await conn.fetch(
        f"""SELECT {_MESSAGE_COLUMNS}, u.full_name AS author
            FROM mail_message_cards c JOIN mail_messages m ON m.id = c.message_id
            LEFT JOIN users u ON u.id = m.user_id
            WHERE c.counterparty_id = $1 AND coalesce(m.thread_id, m.id) = ANY($2::bigint[])
            ORDER BY m.received_at DESC, m.id DESC""", counterparty_id, [t["thread_id"] for t in threads])
    by_thread: dict[int, list[dict]] = {t["thread_id"]: [] for t in threads}
    for m in messages:
        by_thread[m["thread_id"]].append(dict(m))
    for t in threads:
        t["messages"] = by_thread[t["thread_id"]]
        t["subject"] = t["messages"][-1]["subject"] if t["messages"] else ""
    return threads, len(rows) > size


async def message(conn: asyncpg.Connection, message_id: int) -> dict | None:
    row = await conn.fetchrow(f"""SELECT {_MESSAGE_COLUMNS}, u.full_name AS author, b.address AS mailbox_address
                                  FROM mail_messages m LEFT JOIN users u ON u.id = m.user_id
                                  LEFT JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = $1""", message_id)
    return dict(row) if row else None


async def cards_of(conn: asyncpg.Connection, message_id: int) -> list[dict]:
    """The live cards the message is filed on, with what the rights need."""
    return [dict(r) for r in await conn.fetch(
        """SELECT cp.id, cp.display_name, cp.kind, cp.deleted_at, cp.responsible_user_id, cp.created_by,
                  c.address, c.filed_by
           FROM mail_message_cards c JOIN counterparties cp ON cp.id = c.counterparty_id
           WHERE c.message_id = $1 ORDER BY cp.id""", message_id)]


async def attachments_of(conn: asyncpg.Connection, message_id: int) -> list[dict]:
    return [dict(r) for r in await conn.fetch(
        """SELECT id, message_id, filename, content_type, content_id, size_bytes, content IS NOT NULL AS stored
           FROM mail_attachments WHERE message_id = $1 ORDER BY id""", message_id)]


async def attachment(conn: asyncpg.Connection, attachment_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, message_id, filename, content_type, content_id, size_bytes, content "
                               "FROM mail_attachments WHERE id = $1", attachment_id)


async def thread_messages(conn: asyncpg.Connection, thread_id: int) -> list[dict]:
    """A thread's messages, oldest first (for a reply's References)."""
    return [dict(r) for r in await conn.fetch(
        """SELECT id, message_id, references_ids, from_address, from_name, to_addresses, subject, mailbox_id,
                  direction FROM mail_messages WHERE coalesce(thread_id, id) = $1 ORDER BY received_at, id""",
        thread_id)]


async def unfiled(conn: asyncpg.Connection, page: int = 1, size: int = 50) -> tuple[list[dict], bool]:
    rows = await conn.fetch(
        f"""SELECT {_MESSAGE_COLUMNS} FROM mail_messages m WHERE m.status = 'unfiled'
            ORDER BY m.received_at DESC, m.id DESC LIMIT $1 OFFSET $2""", size + 1, (page - 1) * size)
    return [dict(r) for r in rows[:size]], len(rows) > size


async def unfiled_of_address(conn: asyncpg.Connection, address: str) -> list[int]:
    """The unfiled messages from this address (normalized), locked for filing."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM mail_messages WHERE status = 'unfiled' AND lower(from_address) = $1 ORDER BY id FOR UPDATE",
        address)]


async def file_on_card(conn: asyncpg.Connection, message_ids: list[int], counterparty_id: int, address: str,
                       user_id: int) -> None:
    await conn.execute(
        """INSERT INTO mail_message_cards (message_id, counterparty_id, address, filed_by, filed_by_user_id)
           SELECT unnest($1::bigint[]), $2, $3, 'user', $4 ON CONFLICT DO NOTHING""",
        message_ids, counterparty_id, address, user_id)
    await conn.execute("UPDATE mail_messages SET status = 'filed' WHERE id = ANY($1::bigint[]) AND status = 'unfiled'",
                       message_ids)


async def card_addresses(conn: asyncpg.Connection, counterparty_id: int) -> list[str]:
    return [r["normalized"] for r in await conn.fetch(
        "SELECT normalized FROM contacts WHERE counterparty_id = $1 AND kind = 'email' AND deleted_at IS NULL "
        "ORDER BY id", counterparty_id)]
