"""The calls being routed come first (issue 25). From its StasisStart to its first dial (or the
queue, the menu, the dialplan: its first step) a call's lookup and decision are on the clock;
the teardown of the calls before it - its recording fetched, converted and stored, its call log
written, Asterisk's copy deleted - waits until no call is there, one step at a time.

A call's teardown also gives the next call a moment to come in first (`after_call`): on a
trunk whose lines are all busy the next call arrives as one ends, a few milliseconds after
the hang-up, and the profile of issue 25's bench showed the last call's end and recording
being written just then beside the new call's lookup.

A steady stream of calls does not hold that work back for good: each wait ends after
`max_wait` whatever comes. A call that never says it is routed (a bug) holds nothing
for longer than that either."""

from __future__ import annotations

import asyncio

MAX_WAIT = 0.25
# How long a call's teardown lets the next call come in first.
SETTLE = 0.1


class CallPath:
    def __init__(self, max_wait: float | None = None, settle: float | None = None):
        self._max_wait = MAX_WAIT if max_wait is None else max_wait
        self._settle = SETTLE if settle is None else settle
        self._routing: set[str] = set()
        self._clear = asyncio.Event()
        self._clear.set()

    def routing(self, channel_id: str) -> None:
        """This call is being routed: work that can wait, waits."""
        self._routing.add(channel_id)
        self._clear.clear()

    def routed(self, channel_id: str) -> None:
        """Its first step is taken (or it ended): it no longer holds anything back. Idempotent."""
        self._routing.discard(channel_id)
        if not self._routing:
            self._clear.set()

    @property
    def busy(self) -> bool:
        return bool(self._routing)

    async def clear(self) -> None:
        """Return when no call is being routed, or after `max_wait`."""
        if not self._routing:
            return
        try:
            async with asyncio.timeout(self._max_wait):
                await self._clear.wait()
        except TimeoutError:
            pass

    async def after_call(self) -> None:
        """The teardown's first wait: `settle` for the next call to come in, then `clear`."""
        await asyncio.sleep(self._settle)
        await self.clear()
