"""Routes ARI events to handlers: one task per channel, so a slow call never
delays another, while each channel's own events stay in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ari_app.constants import CHANNEL_DESTROYED

log = logging.getLogger(__name__)

Handler = Callable[[dict], Awaitable[None]]

# A channel that sends nothing for this long has its worker retired.
IDLE_SECONDS = 3600.0


class ChannelEventDispatcher:
    def __init__(self, handlers: dict[str, Handler], *, idle_seconds: float = IDLE_SECONDS):
        self._handlers = handlers
        self._idle = idle_seconds
        self._queues: dict[str, asyncio.Queue[dict]] = {}
        self._tasks: set[asyncio.Task] = set()

    def dispatch(self, event: dict) -> None:
        handler = self._handlers.get(event.get("type", ""))
        if handler is None:
            return
        channel_id = (event.get("channel") or {}).get("id")
        if channel_id is None:
            self._spawn(self._run(handler, event), name=event["type"])
            return
        queue = self._queues.get(channel_id)
        if queue is None:
            queue = self._queues[channel_id] = asyncio.Queue()
            self._spawn(self._channel_worker(channel_id, queue), name=f"channel {channel_id}")
        queue.put_nowait(event)

    @property
    def event_types(self) -> list[str]:
        """The event types some handler wants: all the app needs Asterisk to send."""
        return sorted(self._handlers)

    @property
    def active_channels(self) -> int:
        return len(self._queues)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _channel_worker(self, channel_id: str, queue: asyncio.Queue[dict]) -> None:
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: no task per event, so a queued
                    # StasisStart is handled without waiting a loop turn.
                    async with asyncio.timeout(self._idle):
                        event = await queue.get()
                except TimeoutError:
                    log.info("channel %s: no events for %.0f s, worker retired", channel_id, self._idle)
                    return
                await self._run(self._handlers[event["type"]], event)
                if event["type"] == CHANNEL_DESTROYED:
                    return
        finally:
            self._queues.pop(channel_id, None)

    @staticmethod
    async def _run(handler: Handler, event: dict) -> None:
        try:
            await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            channel = event.get("channel") or {}
            log.exception("handler for %s failed: channel %s number %s", event.get("type"),
                          channel.get("id"), (channel.get("caller") or {}).get("number"))
