"""Retention deletes in small batches (issue 25): while a run deletes thousands of old calls on one connection,
another connection goes on writing the call log - new calls inserted, old ones updated - and never waits
for more than about one batch, not for the run."""

from __future__ import annotations

import asyncio
import random
import time

from crm.retention import job
from crm.retention.policy import RetentionPolicy
from tests.retention_support import NOW, months_ago

OLD_CALLS = 4000
BATCH = 200


async def test_live_call_log_writes_wait_at_most_about_a_batch(db, tmp_path):
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, started_at, status)
               SELECT 'old-' || n, 'incoming', $1::timestamptz + n * interval '1 s', 'missed'
               FROM generate_series(1, $2) n""", months_ago(14), OLD_CALLS)
        await conn.execute("""INSERT INTO call_legs (call_id, position, answered_at)
                              SELECT id, 1, started_at FROM calls""")
        old_ids = [r["id"] for r in await conn.fetch("SELECT id FROM calls")]
    done = asyncio.Event()
    waits: dict[str, list[float]] = {"insert": [], "update": []}

    async def live_writes() -> None:
        async with db.acquire() as conn:
            n = 0
            while not done.is_set():
                n += 1
                started = time.monotonic()
                await conn.execute("INSERT INTO calls (channel_id, direction, started_at) "
                                   "VALUES ($1, 'incoming', now())", f"live-{n}")
                waits["insert"].append(time.monotonic() - started)
                started = time.monotonic()
                # An old call's comment changed while the run may hold it: waits for that batch at most.
                await conn.execute("UPDATE calls SET comment = 'checked' WHERE id = $1", random.choice(old_ids))
                waits["update"].append(time.monotonic() - started)
                await asyncio.sleep(0.005)

    writer = asyncio.create_task(live_writes())
    await asyncio.sleep(0.1)
    async with db.acquire() as conn:
        started = time.monotonic()
        report = await job.run(conn, RetentionPolicy(None, "delete", 12, "delete"), NOW,
                               job.Where(tmp_path / "recordings", tmp_path / "archive"), batch=BATCH)
        took = time.monotonic() - started
    done.set()
    await writer
    assert report.status == "done" and report.counts["calls"] == OLD_CALLS
    assert report.batches >= OLD_CALLS // BATCH
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE channel_id LIKE 'old-%'") == 0
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE channel_id LIKE 'live-%'") == len(waits["insert"])
        assert await conn.fetchval("SELECT count(*) FROM call_legs") == 0
    longest = max(waits["insert"] + waits["update"])
    assert len(waits["insert"]) >= 20, "the writes went on during the run"
    assert longest < 1.0 and longest < took / 3, (longest, took, len(waits["insert"]))
