"""A web worker's background loop (the notifier, the orders' reloads, the shop orders' pulls): started in
the app's lifespan, cancelled and awaited at its end, so SIGTERM stops the worker within seconds.

`Repeating` is the loop that does one step every `interval` seconds (the reloads and pulls from URLs): an
unavailable database or a failing step is logged and the loop goes on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from crm.db import DATABASE_ERRORS

log = logging.getLogger(__name__)


class BackgroundLoop:
    name = "background loop"

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        raise NotImplementedError


class Repeating(BackgroundLoop):
    """`step()` every `interval` seconds until stopped."""

    interval = 30.0

    def __init__(self, step: Callable[[], Awaitable[object]]):
        super().__init__()
        self._step = step

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except DATABASE_ERRORS as e:
                log.warning("%s: database unavailable (%s)", self.name, type(e).__name__)
            except Exception:  # one bad item must not stop the loop for all
                log.exception("%s: a step failed", self.name)
            await asyncio.sleep(self.interval)
