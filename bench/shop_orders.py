"""Shop orders (issue 24, done when): a CommerceML export of 1,000 orders (windows-1251, as a Bitrix shop's
1C exchange writes it) imported into an empty source - parsed, a card made for each buyer, lines and
history written - and the same export again with 5 orders changed (exactly those rewritten). Median of
runs, each into a fresh source.

Part of `make bench` (bench/run.py, PBXCRM_BENCH_ONLY=shop_orders), or alone with only PostgreSQL:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/shop_orders.py [ORDERS]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crm.migrate import migrate  # noqa: E402
from crm.shop_orders import loader  # noqa: E402
from crm.shop_orders import sources as shop_sources  # noqa: E402
from tests.shop_orders_support import cml_orders  # noqa: E402

RESULTS = REPO / "bench" / "results" / "shop_orders.md"
ZONE = "Europe/Moscow"


async def _one_run(conn: asyncpg.Connection, orders: int, run: int) -> tuple[float, float, dict]:
    """(seconds for the first import, seconds for the re-import with 5 changed, the re-import's counts)."""
    now = dt.datetime.now(dt.UTC)
    source_id = await shop_sources.save(conn, None, None, shop_sources.SourceInput(  # type: ignore[arg-type]
        name=f"Bench shop {run} {now:%H%M%S%f}", kind="commerceml", login="bench", secret="bench"), now)
    source = await conn.fetchrow("SELECT * FROM shop_sources WHERE id = $1", source_id)
    # Each run's buyers are new people: their numbers and e-mails must not be on earlier runs' cards.
    await conn.execute("UPDATE contacts SET deleted_at = now() WHERE deleted_at IS NULL AND auto_added "
                       "AND counterparty_id IN (SELECT counterparty_id FROM shop_orders)")
    first = cml_orders(orders)
    started = time.monotonic()
    counts = await loader.load_body(conn, source, first, region="RU", now=now, timezone=ZONE)
    took = time.monotonic() - started
    assert counts["added"] == orders, counts
    changed = frozenset({3, orders // 4, orders // 2, orders * 3 // 4, orders})
    again = cml_orders(orders, changed)
    started = time.monotonic()
    counts = await loader.load_body(conn, source, again, region="RU", now=now + dt.timedelta(minutes=1),
                                    timezone=ZONE)
    took_again = time.monotonic() - started
    assert (counts["changed"], counts["status_changes"], counts["added"]) == (5, 5, 0), counts
    return took, took_again, counts


async def bench_shop_orders(url: str, orders: int = 1000, runs: int = 3) -> dict:
    conn = await asyncpg.connect(url)
    try:
        results = [await _one_run(conn, orders, run) for run in range(runs)]
    finally:
        await conn.close()
    firsts = [r[0] for r in results]
    agains = [r[1] for r in results]
    return {"median": statistics.median(firsts), "min": min(firsts), "max": max(firsts),
            "again": statistics.median(agains), "orders": orders, "runs": runs,
            "bytes": len(cml_orders(orders))}


def shop_orders_rows(r: dict) -> list[tuple]:
    return [(f"Shop orders: CommerceML import, {r['orders']:,} orders ({r['bytes'] // 1024} KB, windows-1251)",
             f"{r['median']:.2f} s", f"{r['min']:.2f}-{r['max']:.2f} s", "< 10 s",
             f"{r['median'] / 10:.2f} of target, {r['runs']} runs"),
            ("Shop orders: the same export again, 5 orders changed", f"{r['again']:.2f} s", "5 changed, rest skipped",
             "", f"{r['runs']} runs")]


async def main() -> None:
    server = os.environ["DATABASE_URL"]
    url = server.rsplit("/", 1)[0] + "/pbxcrm_bench_shop"
    admin = await asyncpg.connect(server)
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'pbxcrm_bench_shop'"):
        await admin.execute("CREATE DATABASE pbxcrm_bench_shop")
    await admin.close()
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    result = await bench_shop_orders(url, int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    table = "| benchmark | median | spread | target | n |\n|---|---|---|---|---|\n" + \
        "\n".join("| " + " | ".join(row) + " |" for row in shop_orders_rows(result))
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(f"# Shop orders import, {dt.datetime.now():%Y-%m-%d %H:%M}\n\n{table}\n")


if __name__ == "__main__":
    asyncio.run(main())
