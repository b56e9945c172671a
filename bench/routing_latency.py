"""Routing latency: time from StasisStart to the first dial command, over N real calls.

Needs the sandbox up and DATABASE_URL pointing at a CRM with a manager who
has an extension and a client with a phone (pbxcrm demo-data makes both).
Starts its own `pbxcrm ari` and a sipp phone for that manager, places N sipp
calls from the client's number, and reads the app's own measurements.

    python bench/routing_latency.py --calls 100 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
SIPP = REPO / "tests" / "sipp"


async def pick_caller(url: str) -> tuple[str, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            """SELECT k.normalized, u.extension FROM contacts k
               JOIN counterparties c ON c.id = k.counterparty_id AND c.deleted_at IS NULL AND c.queue_id IS NULL
               JOIN users u ON u.id = c.responsible_user_id AND u.extension IS NOT NULL AND NOT u.is_blocked
               WHERE k.kind = 'phone' AND k.deleted_at IS NULL ORDER BY k.id DESC LIMIT 1""")
    finally:
        await conn.close()
    if row is None:
        sys.exit("no client with a manager who has an extension: run `pbxcrm demo-data` first")
    return row["normalized"], row["extension"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    # One call at a time (sipp -l 1): the manager has one phone, and a busy manager is another path.
    parser.add_argument("--rate", type=float, default=10, help="new calls per second, at most")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    number, extension = await pick_caller(url)
    work = Path(tempfile.mkdtemp(prefix="pbxcrm-bench-"))
    app_log = work / "ari.log"
    app = subprocess.Popen([sys.executable, "-m", "pbxcrm", "ari"], cwd=REPO, stdout=open(app_log, "wb"),
                           stderr=subprocess.STDOUT)
    phone = subprocess.Popen(["sipp", "-sf", str(SIPP / "phone_answer.xml"), "-i", "127.0.0.1",
                              "-p", str(5000 + int(extension)), "-mp", "16000", "-nostdin"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        for _ in range(100):
            if "registered as Stasis app" in app_log.read_text():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        caller = subprocess.run(
            ["sipp", "-sf", str(SIPP / "caller.xml"), "-key", "caller", number.lstrip("+"), "-key", "caller_name",
             "bench", "-s", "74957654321", "-i", "127.0.0.1", "-p", "5090", "-mp", "17000",
             "-m", str(args.calls), "-r", str(args.rate), "-l", "1", "-d", "300", "-nostdin", "-timeout", "300s",
             "127.0.0.1:5060"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
        time.sleep(1)
    finally:
        for p in (phone, app):
            p.terminate()
            p.wait()
    values = [float(m) for m in re.findall(r"first dial ([\d.]+) ms after StasisStart", app_log.read_text())]
    print(f"caller {number} -> manager extension {extension}; sipp exit {caller.returncode}")
    print(f"calls measured: {len(values)} of {args.calls}")
    if values:
        print(f"StasisStart -> first dial: median {statistics.median(values):.2f} ms, "
              f"p99 {percentile(values, 0.99):.2f} ms, max {max(values):.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
