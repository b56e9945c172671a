"""The outgoing e-mail queue (issue 23): which messages are due, and what an attempt's outcome makes of
them. One sender at a time (web/mail_sender.py, under an advisory lock) claims a due message by setting it
'sending' with a lease: a sender that dies mid-send leaves it to be tried again when the lease ends,
so nothing is lost (an SMTP server that took it just before the crash may get it twice: never none).

Each change of status is announced on the 'mail_status' channel (the message's id) for open pages.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

MAX_ATTEMPTS = 5
LEASE_SECONDS = 120
SENDER_LOCK = 0x7062786D61696C  # "pbxmail": the e-mail sender's advisory lock
CHANNEL = "mail_status"


def backoff(attempts: int, base_seconds: int = 15) -> dt.timedelta:
    """Pure: the wait after the n-th failed attempt: base, x4, x16... (15 s, 1 min, 4 min), at most an hour."""
    return dt.timedelta(seconds=min(3600, base_seconds * 4 ** min(10, max(0, attempts - 1))))


def after_failure(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> str:
    """Pure: 'failed' once the attempts are used up, else 'queued' (tried again after backoff)."""
    return "failed" if attempts >= max_attempts else "queued"


async def take_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", SENDER_LOCK))


async def claim(conn: asyncpg.Connection, limit: int = 20) -> list[asyncpg.Record]:
    """The due messages, set 'sending' with a lease, with what building them needs."""
    async with conn.transaction():
        rows = await conn.fetch(
            """UPDATE mail_messages SET status = 'sending', attempts = attempts + 1,
                      next_attempt_at = now() + make_interval(secs => $2)
               WHERE id IN (SELECT id FROM mail_messages WHERE status IN ('queued', 'sending')
                            AND direction = 'out' AND coalesce(next_attempt_at, now()) <= now()
                            ORDER BY next_attempt_at NULLS FIRST, id LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING id, message_id, in_reply_to, references_ids, from_address, from_name, to_addresses,
                         subject, body_text, received_at, attempts""", limit, LEASE_SECONDS)
        await _announce(conn, [r["id"] for r in rows])
    return rows


async def mark_sent(conn: asyncpg.Connection, message_id: int) -> None:
    await conn.execute("UPDATE mail_messages SET status = 'sent', sent_at = now(), error = '', next_attempt_at = NULL "
                       "WHERE id = $1", message_id)
    await _announce(conn, [message_id])


async def mark_failed(conn: asyncpg.Connection, message_id: int, attempts: int, error: str,
                      max_attempts: int = MAX_ATTEMPTS, base_seconds: int = 15) -> str:
    """An attempt failed: queued again after the backoff, or failed for good; the new status."""
    status = after_failure(attempts, max_attempts)
    await conn.execute(
        """UPDATE mail_messages SET status = $2, error = $3,
                  next_attempt_at = CASE WHEN $2 = 'queued' THEN now() + make_interval(secs => $4) END
           WHERE id = $1""", message_id, status, error[:1000], backoff(attempts, base_seconds).total_seconds())
    await _announce(conn, [message_id])
    return status


async def _announce(conn: asyncpg.Connection, ids: list[int]) -> None:
    for i in ids:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(i))
