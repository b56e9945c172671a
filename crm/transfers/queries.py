"""SQL of transfers: the call's legs (who talked, in order, for how long) written by the Stasis
app, and the web's transfer requests, which the app takes up by LISTEN/NOTIFY."""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm.request_rows import RequestRows
from crm.transfers import CHANNEL
from crm.transfers.decide import TransferFacts
from crm.wallboard import notify as wallboard_notify

ROWS = RequestRows("transfer_requests", "taken", of_a_call=True)

# ---- the call's legs (the Stasis app writes them through ari_app/call_records.py) ----


async def start_leg(conn: asyncpg.Connection, *, channel_id: str, user_id: int | None, name: str, number: str,
                    how: str, transferred_by: int | None, answered_at: dt.datetime) -> None:
    """The next leg of the call of this caller channel: someone on our side began talking. Any leg
    still open ends then (a transfer put through while the last one's end was not written)."""
    await conn.execute(
        """WITH c AS (SELECT id FROM calls WHERE channel_id = $1),
                closed AS (UPDATE call_legs SET ended_at = $7 WHERE call_id = (SELECT id FROM c) AND ended_at IS NULL)
           INSERT INTO call_legs (call_id, position, user_id, name, number, how, transferred_by, answered_at)
           SELECT c.id, coalesce((SELECT max(position) FROM call_legs WHERE call_id = c.id), 0) + 1,
                  $2, $3, $4, $5, $6, $7
           FROM c""",
        channel_id, user_id, name, number, how, transferred_by, answered_at)
    await wallboard_notify(conn, "leg", channel_id)


async def end_legs(conn: asyncpg.Connection, *, channel_id: str, ended_at: dt.datetime) -> None:
    """Whoever was talking on the call of this caller channel stopped."""
    await conn.execute(
        """UPDATE call_legs SET ended_at = $2
           WHERE call_id = (SELECT id FROM calls WHERE channel_id = $1) AND ended_at IS NULL""",
        channel_id, ended_at)
    await wallboard_notify(conn, "leg", channel_id)


async def legs_of_call(conn: asyncpg.Connection, call_id: int) -> list[asyncpg.Record]:
    """The call's legs in order, with who transferred each (the call's page, its JSON)."""
    return await conn.fetch(
        """SELECT l.position, l.user_id, coalesce(u.full_name, l.name) AS name, l.number, l.how,
                  l.answered_at, l.ended_at, l.talk_seconds, l.transferred_by, t.full_name AS transferred_by_name
           FROM call_legs l LEFT JOIN users u ON u.id = l.user_id LEFT JOIN users t ON t.id = l.transferred_by
           WHERE l.call_id = $1 ORDER BY l.position""", call_id)


# ---- whether a call can be transferred, and where to ----


async def facts(conn: asyncpg.Connection, *, call_id: int | None = None,
                channel_id: str | None = None) -> tuple[asyncpg.Record, TransferFacts] | None:
    """The call (by id or by its caller channel) and what decides whether it can be transferred now."""
    row = await conn.fetchrow(
        """SELECT c.id, c.channel_id, c.direction, c.answered_at IS NOT NULL AS answered,
                  c.ended_at IS NOT NULL AS ended,
                  (SELECT l.user_id FROM call_legs l WHERE l.call_id = c.id AND l.ended_at IS NULL
                   ORDER BY l.position DESC LIMIT 1) AS talking_user_id
           FROM calls c WHERE c.id = $1 OR c.channel_id = $2""", call_id, channel_id)
    if row is None:
        return None
    return row, TransferFacts(row["direction"], row["answered"], row["ended"], row["talking_user_id"])


async def targets(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Whom a call may be transferred to: active users with a phone, and the live queues."""
    users = await conn.fetch(
        """SELECT id, full_name, extension FROM users
           WHERE deleted_at IS NULL AND NOT is_blocked AND extension IS NOT NULL ORDER BY full_name, id""")
    queues = await conn.fetch("SELECT id, name FROM queues WHERE deleted_at IS NULL ORDER BY name, id")
    return users, queues


async def target_user(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, full_name, extension FROM users
           WHERE id = $1 AND deleted_at IS NULL AND NOT is_blocked AND extension IS NOT NULL""", user_id)


async def target_queue(conn: asyncpg.Connection, queue_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, name FROM queues WHERE id = $1 AND deleted_at IS NULL", queue_id)


# ---- the web's requests ----


async def request_transfer(conn: asyncpg.Connection, *, call_id: int, channel_id: str, requested_by: int,
                           kind: str, user_id: int | None = None, queue_id: int | None = None,
                           number: str | None = None) -> int:
    async with conn.transaction():
        request_id = await conn.fetchval(
            """INSERT INTO transfer_requests (call_id, channel_id, requested_by, target_kind, target_user_id,
                                              target_queue_id, target_number)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            call_id, channel_id, requested_by, kind, user_id, queue_id, number)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(request_id))
    return request_id


async def claim(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    """Take a pending request (one app process only gets it), with the names it needs."""
    return await conn.fetchrow(
        f"""WITH taken AS ({ROWS.take} RETURNING *)
            SELECT t.id, t.channel_id, t.target_kind, t.target_number, t.requested_by,
                   r.full_name AS requested_by_name,
                   t.target_user_id, u.full_name AS user_name, u.extension AS user_extension,
                   t.target_queue_id, q.name AS queue_name
            FROM taken t JOIN users r ON r.id = t.requested_by
            LEFT JOIN users u ON u.id = t.target_user_id LEFT JOIN queues q ON q.id = t.target_queue_id""",
        request_id)


pending_ids = ROWS.pending_ids


async def set_status(conn: asyncpg.Connection, request_id: int, status: str, *, error: str | None = None) -> None:
    await conn.execute(
        "UPDATE transfer_requests SET status = $2, error = coalesce($3, error), updated_at = now() WHERE id = $1",
        request_id, status, error)


async def get(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM transfer_requests WHERE id = $1", request_id)
