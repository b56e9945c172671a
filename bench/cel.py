"""How fast the call records from CEL are built (crm/cel/): 100,000 synthetic CEL rows, as the
sandbox's Asterisk writes them, into a fresh database; `pbxcrm reconcile`'s batches over them,
then once more over the same rows (which must change nothing). Prints rows/s and writes
bench/results/cel.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/cel.py [ROWS]

Needs only PostgreSQL (no Asterisk). The calls: 60 % answered by the dialplan's default queue,
25 % missed there, 15 % placed from desk phones; half the callers are clients (20,000 of them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import random
import sys
import time
import urllib.parse
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crm.cel.reconciler import Reconciler  # noqa: E402
from crm.demo_data import seed  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.users.accounts import NewUser, create_user  # noqa: E402
from tests.cel_synthetic import Cel, make_cel_table, write_rows  # noqa: E402

RESULTS = REPO / "bench" / "results" / "cel.md"
DATABASE = "pbxcrm_bench_cel"


async def main(rows_wanted: int) -> None:
    server = os.environ.get("DATABASE_URL") or sys.exit("bench: set DATABASE_URL (a server to make a database on)")
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(server)._replace(path="/" + DATABASE))
    admin = await asyncpg.connect(server)
    await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
            await seed(conn, 20_000, seed_value=1)
            for ext in ("103", "104", "105", "106"):
                if not await conn.fetchval("SELECT 1 FROM users WHERE extension = $1", ext):
                    await create_user(conn, NewUser(login=f"op{ext}", full_name=f"Operator {ext}",
                                                    password="bench-pass-1", role="operator", extension=ext))
            clients = [r["normalized"] for r in await conn.fetch(
                "SELECT normalized FROM contacts WHERE kind = 'phone' AND normalized LIKE '+7%' LIMIT 5000")]
            await make_cel_table(conn)
            cel = synthetic(rows_wanted, ["8" + n[2:] for n in clients])
            await write_rows(conn, cel.rows)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            first = await timed(pool, url)
            again = await timed(pool, url, since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
            async with pool.acquire() as conn:
                calls = await conn.fetchval("SELECT count(*) FROM calls")
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.close()
    (stats, seconds), (stats2, seconds2) = first, again
    assert stats2.added == 0 and stats2.completed == 0, stats2
    lines = [
        f"# Call records from CEL (bench/cel.py), {dt.date.today()}",
        "",
        f"{platform.node()}: {os.cpu_count()} CPU, Python {platform.python_version()}; PostgreSQL on "
        f"{urllib.parse.urlsplit(server).hostname}.",
        "",
        "| run | CEL rows | calls added | seconds | rows/s |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| first (from the checkpoint) | {stats.rows} | {stats.added} | {seconds:.2f} | {stats.rows / seconds:,.0f} |",
        f"| again (`--since`, nothing to add) | {stats2.rows} | {stats2.added} | {seconds2:.2f} | "
        f"{stats2.rows / seconds2:,.0f} |",
        "",
        f"{calls} call rows, {stats.callbacks} callback tasks; {stats.garbage} garbage rows and "
        f"{stats.skipped_calls} calls skipped; "
        f"batches of 5,000 rows, each one transaction with its checkpoint.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)


async def timed(pool: asyncpg.Pool, url: str, since: dt.datetime | None = None):
    reconciler = Reconciler(pool, cel_url=url, table="cel", region="RU", timezone="Europe/Moscow",
                            same_database=True, batch_rows=5000)
    started = time.perf_counter()
    stats = await reconciler.catch_up(since=since)
    return stats, time.perf_counter() - started


def synthetic(rows_wanted: int, clients: list[str]) -> Cel:
    """Calls over the last day (so each missed call gets its callback task, as new calls do),
    with a garbage row in every thousand."""
    rnd = random.Random(7)
    cel = Cel()
    at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=23)
    n = 0
    while len(cel.rows) < rows_wanted:
        n += 1
        at += dt.timedelta(seconds=rnd.uniform(1, 20))
        caller = rnd.choice(clients) if rnd.random() < 0.5 else f"8916{n:07d}"
        kind = rnd.random()
        if kind < 0.60:
            cel.fallback_call(caller, at, phone=rnd.choice(["103", "104", "105", "106"]), ring=rnd.uniform(0.5, 15),
                              talk=rnd.uniform(5, 300))
        elif kind < 0.85:
            cel.fallback_call(caller, at, phone=None, wait=rnd.uniform(3, 120))
        else:
            cel.placed_call(rnd.choice(["103", "104"]), caller, at, talk=rnd.uniform(5, 300))
        if n % 80 == 0:
            cel.event("NOT_A_CEL_EVENT", at, cel.channel("PJSIP/trunk", caller))
    return cel


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
