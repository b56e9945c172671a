"""The calls being routed come first (issue 25, ari_app/call_path.py): the call log's writes and
a recording's steps wait while a call is between its StasisStart and its first step, and never
longer than the path's longest wait."""

from __future__ import annotations

import asyncio
import time

from ari_app.call_log import CallLogWriter
from ari_app.call_path import CallPath


async def test_nothing_waits_when_no_call_is_being_routed():
    path = CallPath(max_wait=5)
    started = time.perf_counter()
    await path.clear()
    assert time.perf_counter() - started < 0.01 and not path.busy


async def test_work_waits_until_every_call_being_routed_has_taken_its_first_step():
    path = CallPath(max_wait=5)
    path.routing("a")
    path.routing("b")
    waiting = asyncio.ensure_future(path.clear())
    await asyncio.sleep(0.02)
    path.routed("a")
    await asyncio.sleep(0.02)
    assert not waiting.done(), "b is still being routed"
    path.routed("b")
    path.routed("b")  # said twice (its first step, then its end): nothing more happens
    await asyncio.wait_for(waiting, 1)
    assert not path.busy


async def test_a_call_that_never_says_it_is_routed_holds_the_work_back_no_longer_than_the_longest_wait():
    path = CallPath(max_wait=0.1)
    path.routing("stuck")
    started = time.perf_counter()
    await path.clear()
    assert 0.09 <= time.perf_counter() - started < 0.5


async def test_the_call_log_writes_after_the_call_being_routed_has_dialled(db):
    path = CallPath(max_wait=5)
    writer = CallLogWriter(db, call_path=path)
    written: list[str] = []

    async def write(conn):
        written.append(await conn.fetchval("SELECT 'end of the last call'"))

    path.routing("next call")
    task = writer.submit("last call", write, "call end")
    await asyncio.sleep(0.1)
    assert written == [], "held back while the next call is looked up"
    path.routed("next call")
    assert await asyncio.wait_for(task, 2) is True
    assert written == ["end of the last call"]
