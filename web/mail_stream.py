"""An outgoing e-mail's status, live on its page (issue 23): one LISTEN per web worker on the mail sender's
channel (crm/mail/outbox.py CHANNEL: the message's id each time its status changes); each open page of that
message is woken and reads the status again (web/views/mail.py events). A (re)connect wakes every page,
since a NOTIFY may have been missed."""

from __future__ import annotations

import asyncio

import asyncpg

from crm.listen import listen_forever
from crm.mail.outbox import CHANNEL
from web.wakeups import Wakeups


class MailHub:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._pages = Wakeups()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload,
                                                        on_connected=self._wake_all))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def changes(self, message_id: int, idle_seconds: float):
        """For one open page: True at once, then each time the message's status changes, and False after
        idle_seconds of nothing (the stream's keepalive)."""
        return self._pages.changes(message_id, idle_seconds)

    def _on_payload(self, payload: str) -> None:
        if payload.isdigit():
            self._pages.wake(int(payload))

    async def _wake_all(self, _conn: asyncpg.Connection | None) -> None:
        self._pages.wake_all()
