"""SQL of supervision requests, shared by the web (asks) and the Stasis app (rings, joins, ends)."""

from __future__ import annotations

import asyncpg

from crm.request_rows import RequestRows
from crm.supervision import CHANNEL
from crm.supervision.decide import SupervisionFacts

ROWS = RequestRows("supervision_requests", "ringing", of_a_call=True)


async def facts(conn: asyncpg.Connection, call_id: int) -> tuple[asyncpg.Record, SupervisionFacts] | None:
    """The call and whether someone on our side talks on it now."""
    row = await conn.fetchrow(
        """SELECT c.id, c.channel_id, c.answered_at IS NOT NULL AS answered, c.ended_at IS NOT NULL AS ended,
                  (SELECT l.user_id FROM call_legs l WHERE l.call_id = c.id AND l.ended_at IS NULL
                   ORDER BY l.position DESC LIMIT 1) AS talking_user_id
           FROM calls c WHERE c.id = $1""", call_id)
    if row is None:
        return None
    return row, SupervisionFacts(row["answered"], row["ended"], row["talking_user_id"])


async def request(conn: asyncpg.Connection, *, call_id: int, channel_id: str, supervisor_id: int, extension: str,
                  mode: str) -> int:
    async with conn.transaction():
        request_id = await conn.fetchval(
            """INSERT INTO supervision_requests (call_id, channel_id, supervisor_id, extension, mode)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""", call_id, channel_id, supervisor_id, extension, mode)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(request_id))
    return request_id


async def claim(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    """Take a pending request (one app process only gets it), with the supervisor's name."""
    return await conn.fetchrow(
        f"""WITH taken AS ({ROWS.take} RETURNING *)
            SELECT t.id, t.call_id, t.channel_id, t.supervisor_id, t.extension, t.mode, u.full_name
            FROM taken t JOIN users u ON u.id = t.supervisor_id""", request_id)


pending_ids = ROWS.pending_ids


async def joined(conn: asyncpg.Connection, request_id: int) -> None:
    await conn.execute(
        """UPDATE supervision_requests SET status = 'joined', joined_at = now(), updated_at = now()
           WHERE id = $1""", request_id)


async def finish(conn: asyncpg.Connection, request_id: int, status: str, *,
                 error: str | None = None) -> asyncpg.Record | None:
    """The request is over (done or failed); the row as it ends, once (None if it had ended already)."""
    return await conn.fetchrow(
        """UPDATE supervision_requests SET status = $2, error = coalesce($3, error), ended_at = now(),
                  updated_at = now()
           WHERE id = $1 AND status NOT IN ('done', 'failed')
           RETURNING id, call_id, supervisor_id, mode, status, error,
                     round(extract(epoch FROM now() - joined_at))::int AS joined_seconds""",
        request_id, status, error)


async def orphans(conn: asyncpg.Connection, held: list[int], error: str) -> list[asyncpg.Record]:
    """Requests ringing or joined that no app process holds (it stopped meanwhile): failed now."""
    return await conn.fetch(
        """UPDATE supervision_requests SET status = 'failed', error = $2, ended_at = now(), updated_at = now()
           WHERE status IN ('ringing', 'joined') AND id <> ALL($1::bigint[])
           RETURNING id, call_id, supervisor_id, mode, status,
                     round(extract(epoch FROM now() - joined_at))::int AS joined_seconds""", held, error)


async def get(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM supervision_requests WHERE id = $1", request_id)


async def open_of(conn: asyncpg.Connection, call_id: int, supervisor_id: int) -> asyncpg.Record | None:
    """This supervisor's request on the call that is not over yet (the call page says how it goes)."""
    return await conn.fetchrow(
        """SELECT id, mode, status FROM supervision_requests
           WHERE call_id = $1 AND supervisor_id = $2 AND status IN ('pending', 'ringing', 'joined')
             AND (status <> 'pending' OR created_at > now() - interval '60 seconds')
           ORDER BY id DESC LIMIT 1""", call_id, supervisor_id)
