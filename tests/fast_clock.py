"""Time that runs faster for one test: ring times and waits of whole seconds pass in tenths.

The call flow measures its waits with time.monotonic() and the event loop's
timers (asyncio.sleep, wait_for, timeouts), and the database does not allow a
queue's longest wait under 5 s. Inside `fast_clock(loop, speed)` both run
`speed` times faster: time.monotonic() is scaled, and the loop's selector waits
the scaled time. Real I/O (PostgreSQL, the fake ARI) answers as fast as ever,
so timeouts meant for it shrink too: keep `speed` modest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

# The real clock, for waits in tests that must not shrink with the app's.
real_monotonic = time.monotonic


@contextlib.contextmanager
def fast_clock(loop: asyncio.AbstractEventLoop, speed: float):
    real = time.monotonic
    start = real()

    def scaled() -> float:
        return start + (real() - start) * speed

    selector = loop._selector  # type: ignore[attr-defined]
    select = selector.select

    def scaled_select(timeout=None):
        return select(timeout if timeout is None or timeout <= 0 else timeout / speed)

    time.monotonic = scaled
    selector.select = scaled_select
    try:
        yield
    finally:
        time.monotonic = real
        del selector.select
