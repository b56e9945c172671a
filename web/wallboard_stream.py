"""The wallboard's live push (issue 18): one LISTEN per web worker on the wallboard's and the agents'
channels, fanned out to the open wallboards (as web/pops.py does for screen pops). A NOTIFY only says
"something changed": each open wallboard then rebuilds its picture from the database with its
reader's call rules (crm/wallboard/queries.py), so nothing is kept here that a restart would lose."""

from __future__ import annotations

import asyncio
import logging
import time

from crm.agents.queries import CHANNEL as AGENTS_CHANNEL
from crm.listen import listen_forever
from crm.wallboard import CHANNEL

log = logging.getLogger(__name__)


class WallboardHub:
    def __init__(self, database_url: str):
        self._url = database_url
        self._signals: set[asyncio.Event] = set()
        self._tasks: list[asyncio.Task] = []
        self.last_event = 0.0  # time.monotonic() of the last NOTIFY heard

    def start(self) -> None:
        self._tasks = [asyncio.create_task(listen_forever(self._url, channel, self._on_payload,
                                                          on_connected=self._on_connected))
                       for channel in (CHANNEL, AGENTS_CHANNEL)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def subscribe(self) -> asyncio.Event:
        signal = asyncio.Event()
        self._signals.add(signal)
        return signal

    def unsubscribe(self, signal: asyncio.Event) -> None:
        self._signals.discard(signal)

    @property
    def open_boards(self) -> int:
        return len(self._signals)

    def _on_payload(self, payload: str) -> None:
        self.last_event = time.monotonic()
        for signal in self._signals:
            signal.set()

    async def _on_connected(self, _conn) -> None:
        """(Re)connected: what changed while nobody listened is read again by every open board."""
        self._on_payload("")
