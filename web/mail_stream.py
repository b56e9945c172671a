"""An outgoing e-mail's status, live on its page (issue 23): one LISTEN per web worker on the mail sender's
channel (crm/mail/outbox.py CHANNEL: the message's id each time its status changes); each open page of that
message is woken and reads the status again (web/views/mail.py events). A (re)connect wakes every page,
since a NOTIFY may have been missed."""

from __future__ import annotations

import asyncio

import asyncpg

from crm.listen import listen_forever
from crm.mail.outbox import CHANNEL


class MailHub:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._pages: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload,
                                                        on_connected=self._wake_all))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def changes(self, message_id: int, idle_seconds: float):
        """For one open page: True at once (the page may be older than its stream), then each time the
        message's status changes, and False after idle_seconds of nothing (the stream's keepalive)."""
        signal = asyncio.Event()
        signal.set()
        self._pages.setdefault(message_id, set()).add(signal)
        try:
            while True:
                try:
                    await asyncio.wait_for(signal.wait(), idle_seconds)
                except asyncio.TimeoutError:
                    yield False
                    continue
                signal.clear()
                yield True
        finally:
            self._pages[message_id].discard(signal)
            if not self._pages[message_id]:
                del self._pages[message_id]

    def _on_payload(self, payload: str) -> None:
        if payload.isdigit():
            for signal in self._pages.get(int(payload), ()):
                signal.set()

    async def _wake_all(self, _conn: asyncpg.Connection | None) -> None:
        for signals in self._pages.values():
            for signal in signals:
                signal.set()
