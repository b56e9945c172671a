"""Cancelling tasks so that they end: one cancel is not always enough.

Python 3.11's asyncio.wait_for (asyncpg's connect and every `timeout=` use it) returns
the inner result instead of raising when the inner future completes as the cancel
arrives: the cancel is swallowed and the task goes on (a LISTEN loop connects again,
a refresh loop sleeps again). So a stop cancels again, every `every` seconds (long enough for
a task's own clean-up, a connection's goodbye), until the tasks are done or its window is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def cancel_until_done(tasks: Iterable[asyncio.Task], seconds: float | None = None, *,
                            every: float = 0.5) -> set[asyncio.Task]:
    """Cancel the tasks, again and again, until all are done or `seconds` passed (None: no limit).
    Returns those still running. Their exceptions count as seen (callers look at `done` themselves)."""
    tasks = set(tasks)
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    pending = {t for t in tasks if not t.done()}
    cancels = 0
    while pending:
        for task in pending:
            task.cancel()
        cancels += 1
        wait = every if deadline is None else min(every, deadline - loop.time())
        if wait <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=wait)
    if cancels > 1:
        log.info("tasks cancelled %d times before they ended%s: %s", cancels,
                    "" if not pending else " (some still running)",
                    ", ".join(sorted(t.get_name() for t in tasks)))
    for task in tasks - pending:
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" noise at exit
    return pending
