"""SMS send rate (issue 21): `pbxcrm sms` against the SMSC peer (tests/smsc.pl, Net::SMPP) on loopback,
messages queued -> submitted per second, median of runs, and the worker's peak memory.

Part of `make bench` (bench/run.py, PBXCRM_BENCH_ONLY=sms), or alone with only PostgreSQL:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sms.py [MESSAGES]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crm.migrate import migrate  # noqa: E402
from tests.processes import PbxcrmProcess  # noqa: E402
from tests.sms_support import Smsc  # noqa: E402

RESULTS = REPO / "bench" / "results" / "sms.md"
WINDOW, RATE = 50, 2000  # the bench gateway's: what the sender does when the provider is not the limit
BENCH_NUMBER = "+74950009999"
BIG_QUEUE = 100_000


async def _gateway(conn: asyncpg.Connection, smsc: Smsc) -> int:
    config = json.dumps(smsc.config(window=WINDOW, rate=RATE))
    gateway = await conn.fetchval(
        "INSERT INTO sms_gateways (name, kind, config) VALUES ('Bench SMSC', 'smpp', $1) "
        "ON CONFLICT (name) DO UPDATE SET config = excluded.config, active = true RETURNING id", config)
    await conn.execute("INSERT INTO sms_numbers (number, gateway_id) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
                       BENCH_NUMBER, gateway)
    await conn.execute("UPDATE sms_gateways SET active = false WHERE id <> $1 AND active", gateway)
    return gateway


async def _one_run(url: str, work: Path, gateway: int, messages: int, run: int,
                   for_seconds: float = 600) -> tuple[float, int]:
    """(messages submitted a second, the worker's peak RSS in MB): until all went, or `for_seconds`."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM sms_messages WHERE gateway_id = $1", gateway)
        # Queued as queue_outgoing queues them, in one statement (the queueing is not what is measured).
        await conn.execute(
            """INSERT INTO sms_messages (direction, phone, own_number, body, encoding, parts, gateway_id, status)
               SELECT 'out', '+7916' || lpad(g::text, 7, '0'), $2, 'bench ' || g || ' run ' || $3::int, 'gsm7', 1, $1,
                      'queued' FROM generate_series(1, $4::int) g""", gateway, BENCH_NUMBER, run, messages)
        worker = PbxcrmProcess(["sms"], dict(os.environ, DATABASE_URL=url), work / f"sms-{run}.log")
        worker.spawn()
        assert worker.proc is not None
        peak = 0
        try:
            while "bound as" not in worker.log_path.read_text():
                if worker.exited:
                    raise SystemExit(f"bench: pbxcrm sms ended:\n{worker.log_text()}")
                await asyncio.sleep(0.05)
            started = time.monotonic()
            left = messages
            while left and time.monotonic() - started < for_seconds:
                status = Path(f"/proc/{worker.proc.pid}/status").read_text()
                peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024)
                await asyncio.sleep(0.05)
                left = await conn.fetchval("SELECT count(*) FROM sms_messages WHERE gateway_id = $1 "
                                           "AND status IN ('queued', 'submitting')", gateway)
            elapsed = time.monotonic() - started
        finally:
            worker.stop()
        await conn.execute("DELETE FROM sms_messages WHERE gateway_id = $1", gateway)
        return (messages - left) / elapsed, peak
    finally:
        await conn.close()


async def bench_sms(url: str, work: Path, messages: int = 2000, runs: int = 3) -> dict:
    smsc = Smsc(work / "smsc").start()
    conn = await asyncpg.connect(url)
    try:
        gateway = await _gateway(conn, smsc)
        results = [await _one_run(url, work, gateway, messages, run) for run in range(runs)]
        # The sender claims a window at a time: its memory does not grow with what is queued.
        _, big_peak = await _one_run(url, work, gateway, BIG_QUEUE, runs, for_seconds=15)
    finally:
        await conn.execute("UPDATE sms_gateways SET active = false WHERE name = 'Bench SMSC'")
        await conn.close()
        smsc.stop()
    rates = [r for r, _ in results]
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
            "peak_mb": max(p for _, p in results), "messages": messages, "runs": runs, "big_peak_mb": big_peak}


def sms_rows(r: dict) -> list[tuple]:
    return [(f"SMS send rate, SMPP, window {WINDOW}", f"{r['median']:.0f} msg/s",
             f"{r['min']:.0f}-{r['max']:.0f} msg/s, peak RSS {r['peak_mb']} MB", "",
             f"{r['messages']} messages x {r['runs']}"),
            (f"SMS sender memory, {BIG_QUEUE:,} queued", f"{r['big_peak_mb']} MB", "peak RSS over 15 s of sending",
             "", "1 run")]


async def main() -> None:
    server = os.environ["DATABASE_URL"]
    url = server.rsplit("/", 1)[0] + "/pbxcrm_bench_sms"
    admin = await asyncpg.connect(server)
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'pbxcrm_bench_sms'"):
        await admin.execute("CREATE DATABASE pbxcrm_bench_sms")
    await admin.close()
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    result = await bench_sms(url, Path(tempfile.mkdtemp(prefix="pbxcrm-bench-sms-")), messages)
    table = "| benchmark | median | spread | target | n |\n|---|---|---|---|---|\n" + \
        "\n".join("| " + " | ".join(row) + " |" for row in sms_rows(result))
    text = f"# SMS send rate, {dt.datetime.now():%Y-%m-%d %H:%M}\n\n{os.cpu_count()} cores\n\n{table}\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
