"""Open pages waiting on a key (a card's SMS chat, an e-mail's page): each woken when its key changes,
and told "nothing yet" when it has waited idle_seconds (its stream's keepalive). The hubs that hear the
NOTIFYs (web/sms_stream.py, web/mail_stream.py) wake them."""

from __future__ import annotations

import asyncio


class Wakeups:
    def __init__(self) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = {}

    @property
    def waiting(self) -> int:
        """How many pages wait, on all keys."""
        return sum(len(s) for s in self._waiting.values())

    async def changes(self, key: int, idle_seconds: float, settle_seconds: float = 0.0):
        """For one open page: True at once (the page may be older than its stream: a reconnect), then each
        time its key is woken (wakes within settle_seconds of the first are one), and False after
        idle_seconds of nothing."""
        signal = asyncio.Event()
        signal.set()
        self._waiting.setdefault(key, set()).add(signal)
        try:
            while True:
                try:
                    await asyncio.wait_for(signal.wait(), idle_seconds)
                except asyncio.TimeoutError:
                    yield False
                    continue
                if settle_seconds:
                    await asyncio.sleep(settle_seconds)
                signal.clear()
                yield True
        finally:
            self._waiting[key].discard(signal)
            if not self._waiting[key]:
                del self._waiting[key]

    def wake(self, key: int) -> None:
        for signal in self._waiting.get(key, ()):
            signal.set()

    def wake_all(self) -> None:
        """Every page: after a (re)connect, a NOTIFY may have been missed."""
        for signals in self._waiting.values():
            for signal in signals:
                signal.set()
