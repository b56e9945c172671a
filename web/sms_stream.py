"""The card chats' live push (issue 21): one LISTEN per web worker on crm.sms.CHANNEL, whose payload is a
message id (its status changed, or it arrived). The hub finds each id's card and wakes the open chats of
that card only; each chat then reads its messages again (web/views/sms_chat.py). Ids heard together are
looked up in one query; a (re)connect wakes every open chat, since a NOTIFY may have been missed."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.listen import listen_forever
from crm.sms import CHANNEL
from web.wakeups import Wakeups

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.05  # ids heard within this make one lookup


class SmsHub:
    def __init__(self, database_url: str, pool_of) -> None:
        """pool_of(): the app's pool, once the lifespan made it."""
        self._url = database_url
        self._pool_of = pool_of
        self._chats = Wakeups()
        self._heard: set[int] = set()
        self._flushing: asyncio.Task | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload,
                                                        on_connected=self._wake_all))

    async def stop(self) -> None:
        for task in (self._task, self._flushing):
            if task:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, self._flushing) if t), return_exceptions=True)

    def changes(self, counterparty_id: int, idle_seconds: float, settle_seconds: float = 0.03):
        """For one open chat: True at once (the page may be older than its stream: a reconnect), then each
        time one of the card's messages changes (a burst of changes within settle_seconds is one), and False
        after idle_seconds of nothing (the stream's keepalive)."""
        return self._chats.changes(counterparty_id, idle_seconds, settle_seconds)

    @property
    def open_chats(self) -> int:
        return self._chats.waiting

    def _on_payload(self, payload: str) -> None:
        if not self._chats.waiting or not payload.isdigit():
            return  # nobody has a chat open: nothing to look up
        self._heard.add(int(payload))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(BATCH_SECONDS)
        ids, self._heard = list(self._heard), set()
        try:
            async with self._pool_of().acquire(timeout=5) as conn:
                cards = await conn.fetch("SELECT DISTINCT counterparty_id FROM sms_messages "
                                         "WHERE id = ANY($1::bigint[]) AND counterparty_id IS NOT NULL", ids)
        except DATABASE_ERRORS as e:
            log.warning("sms chats: cards of messages %s not read (%s); waking every chat", ids[:10], type(e).__name__)
            await self._wake_all(None)
            return
        for row in cards:
            self._chats.wake(row["counterparty_id"])

    async def _wake_all(self, _conn: asyncpg.Connection | None) -> None:
        self._chats.wake_all()
