"""Writes the call log without ever holding up a call.

Writes for one channel run in order; when PostgreSQL does not answer they are
retried in the background until it does, so a call made while the database is
down is logged once it is back. Each waits while a call is being routed
(ari_app/call_path.py): the last call's end is written after the next call's
first dial, not beside its lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from ari_app.call_path import CallPath
from crm.db import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

Write = Callable[[asyncpg.Connection], Awaitable[object]]


class CallLogWriter:
    def __init__(self, pool: asyncpg.Pool, *, retry_for_seconds: float = 24 * 3600,
                 max_delay: float = 5.0, acquire_timeout: float = 2.0, call_path: CallPath | None = None):
        self._pool = pool
        self._call_path = call_path or CallPath()
        self._retry_for = retry_for_seconds
        self._max_delay = max_delay
        self._acquire_timeout = acquire_timeout
        self._tails: dict[str, asyncio.Task] = {}

    def submit(self, channel_id: str, write: Write, what: str, *, after_call: bool = False) -> asyncio.Task:
        """Queue a write after the earlier writes for the same channel. `after_call`: a write of the
        call's teardown (its end, its legs' end, a callback task), which lets the next call come in first."""
        previous = self._tails.get(channel_id)
        task = asyncio.create_task(self._run(previous, write, channel_id, what, after_call))
        self._tails[channel_id] = task

        def forget(t: asyncio.Task) -> None:
            if self._tails.get(channel_id) is t:
                del self._tails[channel_id]

        task.add_done_callback(forget)
        return task

    @property
    def pending(self) -> int:
        return len(self._tails)

    async def drain(self, timeout: float) -> None:
        tasks = list(self._tails.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _run(self, previous: asyncio.Task | None, write: Write, channel_id: str, what: str,
                   after_call: bool) -> bool:
        if previous is not None:
            await asyncio.wait([previous])
        if after_call:
            await self._call_path.after_call()
        delay = 0.2
        give_up_at = time.monotonic() + self._retry_for
        attempt = 0
        while True:
            attempt += 1
            await self._call_path.clear()
            try:
                async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                    await write(conn)
                if attempt > 1:
                    log.info("channel %s: %s written after %d attempts", channel_id, what, attempt)
                return True
            except DATABASE_UNAVAILABLE as e:  # not there right now: worth retrying
                if time.monotonic() >= give_up_at:
                    log.error("channel %s: gave up writing %s: %s", channel_id, what, e)
                    return False
                if attempt == 1:
                    log.warning("channel %s: database unavailable for %s (%s); will retry",
                                channel_id, what, type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)
            except asyncpg.PostgresError:
                # A data error: retrying the same write cannot help.
                log.exception("channel %s: %s rejected by the database", channel_id, what)
                return False
