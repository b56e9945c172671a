"""A web worker's background loop (the notifier, the orders' reloads): started in the app's lifespan,
cancelled and awaited at its end, so SIGTERM stops the worker within seconds."""

from __future__ import annotations

import asyncio


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
