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


async def test_a_calls_teardown_lets_the_next_call_come_in_and_be_routed_first():
    path = CallPath(max_wait=5, settle=0.05)
    started = time.perf_counter()
    teardown = asyncio.ensure_future(path.after_call())
    await asyncio.sleep(0.02)
    path.routing("next call")  # comes in just after the hang-up
    await asyncio.sleep(0.1)
    assert not teardown.done(), "waits for the next call's first step"
    path.routed("next call")
    await asyncio.wait_for(teardown, 1)
    assert time.perf_counter() - started >= 0.12
    started = time.perf_counter()
    await path.after_call()  # no call comes: the settle alone
    assert 0.045 <= time.perf_counter() - started < 0.5


async def test_the_end_of_a_call_is_written_after_the_settle_and_other_writes_are_not_held(db):
    path = CallPath(max_wait=5, settle=0.3)
    writer = CallLogWriter(db, call_path=path)
    written: dict[str, float] = {}
    started = time.perf_counter()

    def write(what):
        async def run(conn):
            await conn.execute("SELECT 1")
            written[what] = time.perf_counter() - started
        return run

    end = writer.submit("last call", write("end"), "call end", after_call=True)
    start = writer.submit("next call", write("start"), "call start")
    await asyncio.wait_for(asyncio.gather(end, start), 5)
    assert written["start"] < 0.3 <= written["end"]
