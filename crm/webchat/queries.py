"""The web chat's SQL (issue 23): sites, visitors, conversations, their pages and messages, the operators
online, the card's transcripts and the per-operator counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import asyncpg

# The operator's stream reports itself this often; a stream not heard of for ONLINE_SECONDS is gone.
ONLINE_SECONDS = 60

_CONVERSATION = """
    SELECT c.*, s.name AS site_name, u.full_name AS operator_name, cp.display_name AS counterparty_name,
           v.name AS visitor_name, v.email AS visitor_email, v.phone AS visitor_phone,
           v.external_id AS visitor_external_id, v.verified AS visitor_verified,
           (SELECT m.body FROM chat_messages m WHERE m.conversation_id = c.id AND m.sender = 'visitor'
            ORDER BY m.id LIMIT 1) AS first_message,
           (SELECT count(*) FROM chat_messages m WHERE m.conversation_id = c.id) AS message_count
    FROM chat_conversations c
    JOIN chat_sites s ON s.id = c.site_id
    JOIN chat_visitors v ON v.id = c.visitor_id
    LEFT JOIN users u ON u.id = c.operator_user_id
    LEFT JOIN counterparties cp ON cp.id = c.counterparty_id"""


# ---- sites ----

async def site_by_key(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM chat_sites WHERE public_key = $1 AND enabled", key)


async def site(conn: asyncpg.Connection, site_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM chat_sites WHERE id = $1::bigint", site_id)


async def sites(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT s.*, u.full_name AS offline_user_name, q.name AS offline_queue_name
           FROM chat_sites s LEFT JOIN users u ON u.id = s.offline_user_id
           LEFT JOIN queues q ON q.id = s.offline_queue_id ORDER BY s.name, s.id""")


async def insert_site(conn: asyncpg.Connection, values: dict) -> int:
    return await conn.fetchval(
        """INSERT INTO chat_sites (name, public_key, allowed_origins, identity_secret, anonymize_ip,
                                   offline_user_id, offline_queue_id, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        values["name"], values["public_key"], values["allowed_origins"], values["identity_secret"],
        values["anonymize_ip"], values["offline_user_id"], values["offline_queue_id"], values["enabled"])


async def update_site(conn: asyncpg.Connection, site_id: int, values: dict) -> None:
    await conn.execute(
        """UPDATE chat_sites SET name = $2, allowed_origins = $3, anonymize_ip = $4, offline_user_id = $5,
                  offline_queue_id = $6, enabled = $7 WHERE id = $1::bigint""",
        site_id, values["name"], values["allowed_origins"], values["anonymize_ip"], values["offline_user_id"],
        values["offline_queue_id"], values["enabled"])


async def set_site_secret(conn: asyncpg.Connection, site_id: int, secret: str) -> None:
    await conn.execute("UPDATE chat_sites SET identity_secret = $2 WHERE id = $1::bigint", site_id, secret)


# ---- visitors ----

async def visitor_by_token(conn: asyncpg.Connection, site_id: int, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE chat_visitors SET last_seen_at = now() WHERE site_id = $1 AND token_hash = $2
           RETURNING *""", site_id, token_hash)


async def insert_visitor(conn: asyncpg.Connection, site_id: int, token_hash: bytes) -> asyncpg.Record:
    return await conn.fetchrow("INSERT INTO chat_visitors (site_id, token_hash) VALUES ($1, $2) RETURNING *",
                               site_id, token_hash)


async def set_visitor_identity(conn: asyncpg.Connection, visitor_id: int, external_id: str, name: str, email: str,
                               phone: str, verified: bool) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE chat_visitors SET external_id = $2, name = $3, email = $4, phone = $5, verified = $6
           WHERE id = $1 RETURNING *""", visitor_id, external_id, name, email, phone, verified)


async def record_page(conn: asyncpg.Connection, visitor_id: int, conversation_id: int | None, url: str, title: str,
                      referrer: str) -> None:
    await conn.execute(
        """INSERT INTO chat_pages (visitor_id, conversation_id, url, title, referrer)
           VALUES ($1, $2, $3, $4, $5)""", visitor_id, conversation_id, url, title, referrer)


async def pages_of(conn: asyncpg.Connection, conversation_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT url, title, referrer, at FROM chat_pages WHERE conversation_id = $1 "
                            "ORDER BY at, id LIMIT 200", conversation_id)


# ---- conversations ----

async def open_conversation_of(conn: asyncpg.Connection, visitor_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"{_CONVERSATION} WHERE c.visitor_id = $1 AND c.status IN ('waiting', 'active') ORDER BY c.id DESC LIMIT 1",
        visitor_id)


async def conversation(conn: asyncpg.Connection, conversation_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_CONVERSATION} WHERE c.id = $1", conversation_id)


async def insert_conversation(conn: asyncpg.Connection, site_id: int, visitor_id: int, status: str,
                              page: Mapping[str, str],
                              user_agent: str, ip: str) -> int:
    return await conn.fetchval(
        """INSERT INTO chat_conversations (site_id, visitor_id, status, page_url, page_title, referrer,
                                           user_agent, ip)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        site_id, visitor_id, status, page["url"], page["title"], page["referrer"], user_agent, ip)


async def accept(conn: asyncpg.Connection, conversation_id: int, user_id: int) -> bool:
    """The first operator's: True when this one took the waiting conversation, False when someone was first."""
    return await conn.fetchval(
        """UPDATE chat_conversations SET status = 'active', operator_user_id = $2, accepted_at = now()
           WHERE id = $1 AND status = 'waiting' RETURNING true""", conversation_id, user_id) or False


async def close(conn: asyncpg.Connection, conversation_id: int) -> bool:
    return await conn.fetchval(
        """UPDATE chat_conversations SET status = 'closed', closed_at = now()
           WHERE id = $1 AND status IN ('waiting', 'active') RETURNING true""", conversation_id) or False


async def attach(conn: asyncpg.Connection, conversation_id: int, counterparty_id: int | None, how: str | None) -> None:
    await conn.execute("UPDATE chat_conversations SET counterparty_id = $2, attached_how = $3 WHERE id = $1",
                       conversation_id, counterparty_id, how)


async def set_task(conn: asyncpg.Connection, conversation_id: int, task_id: int) -> None:
    await conn.execute("UPDATE chat_conversations SET task_id = $2 WHERE id = $1", conversation_id, task_id)


async def list_conversations(conn: asyncpg.Connection, view: str, user_id: int, sees_all: bool, *,
                             limit: int, offset: int) -> tuple[list[asyncpg.Record], int]:
    """One of rules.LIST_VIEWS; a reader who does not see everything gets, whatever the view, only the
    waiting ones and their own."""
    # $1 (the reader) is named in every variant, so its type is always known.
    where = "$1::bigint IS NOT NULL AND " + {
        "waiting": "c.status = 'waiting'", "active": "c.status = 'active'",
        "mine": "c.operator_user_id = $1", "closed": "c.status IN ('closed', 'offline')"}[view]
    if not sees_all:
        where += " AND (c.status = 'waiting' OR c.operator_user_id = $1)"
    rows = await conn.fetch(f"{_CONVERSATION} WHERE {where} ORDER BY c.created_at DESC, c.id DESC "
                            f"LIMIT $2 OFFSET $3", user_id, limit, offset)
    total = await conn.fetchval(f"SELECT count(*) FROM chat_conversations c WHERE {where}", user_id)
    return rows, total


async def waiting(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_CONVERSATION} WHERE c.status = 'waiting' ORDER BY c.id LIMIT $1", limit)


async def conversations_of_card(conn: asyncpg.Connection, counterparty_id: int,
                                limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_CONVERSATION} WHERE c.counterparty_id = $1 ORDER BY c.created_at DESC LIMIT $2",
                            counterparty_id, limit)


# ---- messages ----

async def insert_message(conn: asyncpg.Connection, conversation_id: int, sender: str, user_id: int | None,
                         body: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO chat_messages (conversation_id, sender, user_id, body) VALUES ($1, $2, $3, $4)
           RETURNING id, created_at""", conversation_id, sender, user_id, body)


async def messages(conn: asyncpg.Connection, conversation_id: int, after_id: int = 0,
                   limit: int = 500) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT m.id, m.sender, m.body, m.created_at, u.full_name AS operator_name
           FROM chat_messages m LEFT JOIN users u ON u.id = m.user_id
           WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3""", conversation_id, after_id, limit)


async def messages_of(conn: asyncpg.Connection, conversation_ids: list[int]) -> list[asyncpg.Record]:
    """The messages of these conversations (the card's timeline shows each one's transcript)."""
    return await conn.fetch(
        """SELECT m.conversation_id, m.id, m.sender, m.body, m.created_at, u.full_name AS operator_name
           FROM chat_messages m LEFT JOIN users u ON u.id = m.user_id
           WHERE m.conversation_id = ANY($1::bigint[]) ORDER BY m.conversation_id, m.id""", conversation_ids)


# ---- the card a visitor's contact is on ----

async def card_of_contacts(conn: asyncpg.Connection, normalized: list[str]) -> int | None:
    """The one card (not deleted) with one of these contacts; None when none or several."""
    rows = await conn.fetch(
        """SELECT DISTINCT c.counterparty_id FROM contacts c
           JOIN counterparties cp ON cp.id = c.counterparty_id AND cp.deleted_at IS NULL
           WHERE c.normalized = ANY($1::text[]) AND c.deleted_at IS NULL LIMIT 2""", normalized)
    return rows[0]["counterparty_id"] if len(rows) == 1 else None


# ---- operators online ----

async def touch_stream(conn: asyncpg.Connection, stream_id: str, user_id: int) -> None:
    await conn.execute(
        """INSERT INTO chat_operator_streams (stream_id, user_id) VALUES ($1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET seen_at = now()""", stream_id, user_id)


async def drop_stream(conn: asyncpg.Connection, stream_id: str) -> None:
    await conn.execute("DELETE FROM chat_operator_streams WHERE stream_id = $1", stream_id)


async def operators_online(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        f"""SELECT count(DISTINCT s.user_id) FROM chat_operator_streams s
            JOIN users u ON u.id = s.user_id AND u.deleted_at IS NULL AND NOT u.is_blocked
            WHERE s.seen_at > now() - interval '{ONLINE_SECONDS} seconds'""")


# ---- the report ----

async def per_operator(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str) -> list[asyncpg.Record]:
    """Per operator, over the days start..end in the call centre's zone: conversations taken, closed, and
    messages written."""
    return await conn.fetch(
        """WITH taken AS (
               SELECT operator_user_id AS user_id, count(*) AS taken,
                      count(*) FILTER (WHERE status = 'closed') AS closed
               FROM chat_conversations
               WHERE operator_user_id IS NOT NULL AND (accepted_at AT TIME ZONE $3)::date BETWEEN $1 AND $2
               GROUP BY operator_user_id),
           written AS (
               SELECT user_id, count(*) AS messages FROM chat_messages
               WHERE sender = 'operator' AND (created_at AT TIME ZONE $3)::date BETWEEN $1 AND $2
               GROUP BY user_id)
           SELECT u.id AS user_id, u.full_name AS operator, coalesce(t.taken, 0) AS taken,
                  coalesce(t.closed, 0) AS closed, coalesce(w.messages, 0) AS messages
           FROM users u LEFT JOIN taken t ON t.user_id = u.id LEFT JOIN written w ON w.user_id = u.id
           WHERE t.user_id IS NOT NULL OR w.user_id IS NOT NULL
           ORDER BY u.full_name, u.id""", start, end, timezone)
