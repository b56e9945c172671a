"""Retention (issue 25): delete 1,000,000 old call rows (each with a leg) in batches while the call log is
written, and compare the live inserts' p99 during the run with the same inserts on an idle database.
Target: p99 during <= 2x idle.

Its own database (pbxcrm_bench_retention), built afresh each run: 1,000,000 calls 14 months old and 100,000
recent ones, every call with a leg, as migrated (indexes included), then a checkpoint. The writer inserts a
call and its leg every WRITE_EVERY seconds, as the Stasis app does for a new call; the idle phase runs it
IDLE_SECONDS first.

Part of `make bench` (bench/run.py, PBXCRM_BENCH_ONLY=retention), or alone with only PostgreSQL:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/retention.py [ROWS]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results_table import write_results  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.retention import job  # noqa: E402
from crm.retention.policy import RetentionPolicy  # noqa: E402

DATABASE = "pbxcrm_bench_retention"
RESULTS = REPO / "bench" / "results" / "retention.md"
IDLE_SECONDS = float(os.environ.get("PBXCRM_BENCH_RETENTION_IDLE", "30"))
WRITE_EVERY = 0.01


def _url(server_url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path="/" + name))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _build(server_url: str, rows: int, now: dt.datetime) -> str:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    url = _url(server_url, DATABASE)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        old = now - dt.timedelta(days=14 * 31)
        # The old ones a second apart (11.6 days for a million), the recent ones ten.
        for start, count, first, every in ((1, rows, old, 1), (rows + 1, rows // 10, now - dt.timedelta(days=20), 10)):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, answered_at,
                                      ended_at, status)
                   SELECT 'bench-' || n, 'incoming', '+7495' || lpad((n % 10000000)::text, 7, '0'), '100',
                          $3::timestamptz + (n - $1) * $4 * interval '1 s',
                          $3::timestamptz + (n - $1) * $4 * interval '1 s',
                          $3::timestamptz + (n - $1) * $4 * interval '1 s' + interval '1 min', 'answered'
                   FROM generate_series($1::bigint, $1 + $2 - 1) n""", start, count, first, every)
        await conn.execute("""INSERT INTO call_legs (call_id, position, name, answered_at, ended_at)
                              SELECT id, 1, 'Agent', answered_at, ended_at FROM calls""")
        await conn.execute("VACUUM ANALYZE calls")
        await conn.execute("VACUUM ANALYZE call_legs")
        # The build's dirty pages written out now, so the idle phase measures an idle database, not the build.
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return url


async def _writer(url: str, stop: asyncio.Event, waits: list[float]) -> None:
    conn = await asyncpg.connect(url)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            async with conn.transaction():
                call_id = await conn.fetchval(
                    """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at)
                       VALUES ($1, 'incoming', '+74951234567', '100', now()) RETURNING id""",
                    f"live-{time.time_ns()}-{n}")
                await conn.execute("INSERT INTO call_legs (call_id, position, answered_at) VALUES ($1, 1, now())",
                                   call_id)
            waits.append(time.monotonic() - started)
            await asyncio.sleep(WRITE_EVERY)
    finally:
        await conn.close()


async def _writing(url: str, work) -> tuple[list[float], object]:
    """The writer's waits while work() runs (work: a coroutine function, or seconds to idle)."""
    stop, waits = asyncio.Event(), []
    writer = asyncio.create_task(_writer(url, stop, waits))
    try:
        result = await work()
    finally:
        stop.set()
        await writer
    return waits, result


async def bench_retention(server_url: str, rows: int = 1_000_000) -> dict:
    now = dt.datetime.now(dt.UTC)
    print(f"bench retention: building {rows:,} old calls in {DATABASE}", file=sys.stderr)
    url = await _build(server_url, rows, now)
    try:
        await asyncio.sleep(5)
        idle, _none = await _writing(url, lambda: asyncio.sleep(IDLE_SECONDS))
        work_dir = Path(tempfile.mkdtemp(prefix="pbxcrm-bench-retention-"))

        async def run() -> tuple[job.Report, float]:
            conn = await asyncpg.connect(url)
            try:
                started = time.monotonic()
                report = await job.run(conn, RetentionPolicy(None, "delete", 12, "delete"), now,
                                       job.Where(work_dir / "recordings", work_dir / "archive"))
                return report, time.monotonic() - started
            finally:
                await conn.close()

        during, result = await _writing(url, run)
        report, took = result  # type: ignore[misc]
        assert report.status == "done" and report.counts["calls"] == rows, (report.status, dict(report.counts))
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        finally:
            await admin.close()
    return {"rows": rows, "seconds": took, "rate": rows / took, "batches": report.batches,
            "idle_p50": _pct(idle, 0.5) * 1000, "idle_p99": _pct(idle, 0.99) * 1000, "idle_n": len(idle),
            "p50": _pct(during, 0.5) * 1000, "p99": _pct(during, 0.99) * 1000, "max": max(during) * 1000,
            "n": len(during)}


def retention_rows(r: dict) -> list[tuple]:
    return [(f"Retention: delete {r['rows']:,} old call rows (with legs) in batches",
             f"{r['rate']:,.0f} rows/s", f"{r['seconds']:.0f} s, {r['batches']:,} batches", "", "1 run"),
            ("  live call-log inserts during it: p99 vs idle", f"{r['p99']:.1f} ms",
             f"idle p99 {r['idle_p99']:.1f} ms; p50 {r['p50']:.1f} vs {r['idle_p50']:.1f} ms; max {r['max']:.0f} ms",
             "p99 <= 2x idle", f"{r['p99'] / r['idle_p99']:.2f}x, {r['n']:,} / {r['idle_n']:,} inserts")]


async def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    r = await bench_retention(os.environ["DATABASE_URL"], rows)
    write_results(RESULTS, "pbxcrm retention bench", retention_rows(r))


if __name__ == "__main__":
    asyncio.run(main())
