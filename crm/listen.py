"""A PostgreSQL LISTEN that outlives its connection: reconnects, and says when it is (re)connected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from crm.db import DATABASE_ERRORS

log = logging.getLogger(__name__)


async def listen_forever(database_url: str, channel: str, on_payload: Callable[[str], None], *,
                         on_connected: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
                         retry_seconds: float = 2.0) -> None:
    while True:
        try:
            conn = await asyncpg.connect(database_url, timeout=5)
        except DATABASE_ERRORS as e:
            log.warning("LISTEN %s: database unavailable (%s); retrying", channel, type(e).__name__)
            await asyncio.sleep(retry_seconds)
            continue
        try:
            await conn.add_listener(channel, lambda _c, _pid, _ch, payload: on_payload(payload))
            if on_connected is not None:
                await on_connected(conn)
            while not conn.is_closed():
                await asyncio.sleep(1)
                await conn.execute("SELECT 1")  # notices a dead connection
        except DATABASE_ERRORS as e:
            log.warning("LISTEN %s: connection lost (%s)", channel, type(e).__name__)
        finally:
            await conn.close()


async def listen_for_requests(database_url: str, channel: str, take: Callable[[int], None],
                              pending: Callable[[asyncpg.Connection], Awaitable[list[int]]]) -> None:
    """Requests the web makes as rows NOTIFYed by id (click-to-call, transfers): each id is taken as
    it comes, and at every (re)connect the ids `pending` finds, made while nobody listened."""
    async def take_pending(conn: asyncpg.Connection) -> None:
        for request_id in await pending(conn):
            take(request_id)

    def notified(payload: str) -> None:
        if payload.isdigit():
            take(int(payload))

    await listen_forever(database_url, channel, notified, on_connected=take_pending)


Claim = Callable[[asyncpg.Connection, int], Awaitable[asyncpg.Record | None]]


async def claim_request(pool: asyncpg.Pool, claim: Claim, request_id: int, what: str) -> asyncpg.Record | None:
    """A NOTIFYed request row taken by this process (`claim`: its queries module's), or None: another
    process took it, it is too old, or the database did not answer (logged as `what` request N)."""
    try:
        async with pool.acquire(timeout=2) as conn:
            return await claim(conn, request_id)
    except DATABASE_ERRORS as e:
        log.warning("%s request %d not taken (%s)", what, request_id, type(e).__name__)
        return None
