"""A few PostgreSQL connections that run nothing but the caller lookup.

Not an asyncpg pool: its release resets the connection and shields itself in a
task, which tripled the lookup's time on the call path (0.42 against 0.13 ms
median, measured for issue 8). These connections run one statement, so they
need no reset; each is warmed (statement prepared, plan and catalog cached)
before a caller waits on it, and is never closed for idleness.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")

# How these connections show in pg_stat_activity.
APPLICATION_NAME = "pbxcrm caller lookup"


class LookupConnections:
    def __init__(self, database_url: str, warm: Callable[[asyncpg.Connection], Awaitable[None]], *,
                 size: int = 3, connect_timeout: float = 2.0):
        self._url = database_url
        self._warm = warm
        self._size = size
        self._connect_timeout = connect_timeout
        self._idle: asyncio.Queue[asyncpg.Connection] = asyncio.LifoQueue()
        self._open = 0

    @property
    def open(self) -> int:
        return self._open

    async def run(self, query: Callable[..., Awaitable[T]], *args) -> T:
        """query(connection, *args) on an idle connection (opened if none is and there is room)."""
        if self._idle.empty() and self._open < self._size:
            conn = await self._connect()
        else:
            conn = await self._idle.get()
            if conn.is_closed():
                # The server restarted or the network dropped it while idle: try a fresh one.
                self._discard(conn)
                conn = await self._connect()
        try:
            result = await query(conn, *args)
        except BaseException:
            # A timeout or a lost server leaves the connection in an unknown state: replace it.
            self._discard(conn)
            raise
        self._idle.put_nowait(conn)
        return result

    async def fill(self) -> None:
        """Open every connection now, so that no caller waits for one."""
        while self._open < self._size:
            self._idle.put_nowait(await self._connect())

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            self._open -= 1
            await conn.close(timeout=2)

    async def _connect(self) -> asyncpg.Connection:
        self._open += 1
        try:
            # A generic plan: the lookup is an index probe whatever the number, and
            # planning it per call costs more than running it.
            conn = await asyncpg.connect(self._url, timeout=self._connect_timeout,
                                         server_settings={"plan_cache_mode": "force_generic_plan",
                                                          "application_name": APPLICATION_NAME})
        except BaseException:
            self._open -= 1
            raise
        try:
            await self._warm(conn)
        except BaseException:
            self._discard(conn)
            raise
        return conn

    def _discard(self, conn: asyncpg.Connection) -> None:
        self._open -= 1
        conn.terminate()
