"""Sending screen pops from the call path, without ever waiting on them."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from ari_app.call_path import CallPath
from crm.db import DATABASE_ERRORS
from crm.pops.events import PopEvent, notify

log = logging.getLogger(__name__)


class PopSender:
    def __init__(self, pool: asyncpg.Pool, call_path: CallPath | None = None):
        self._pool = pool
        self._call_path = call_path or CallPath()  # a call being routed goes first (ari_app/call_path.py)
        self._tasks: set[asyncio.Task] = set()

    def send(self, event: PopEvent) -> None:
        task = asyncio.create_task(self._send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event: PopEvent) -> None:
        await self._call_path.clear()
        try:
            async with self._pool.acquire(timeout=1) as conn:
                await notify(conn, event)
        except DATABASE_ERRORS as e:
            # A pop is only useful now: no retry.
            log.warning("channel %s: pop for user %s not sent (%s)", event.channel_id, event.user_id,
                        type(e).__name__)
