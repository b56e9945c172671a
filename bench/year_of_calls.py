"""A year of calls (issue 25): on 10,000,000 calls of a 100-seat call centre (bench/year_of_calls_data.py builds
them once, in pbxcrm_bench_year), the call log's first page for each filter, the call statistics for a month by
day and for a year, a card with 10,000 calls; and the call log's writes and the CEL reconciler there against
the same in an empty database.

Each number goes through the functions the web views call: the call log's page (web/views/calls.py: the capped
count, the page, the recordings one may play), the statistics page (web/views/reports.py: the series and the
table), the card's calls and timeline (web/views/counterparty_cards.py); the writes through the Stasis app's
own SQL (crm/calls/queries.py, one call: StasisStart to hang-up) and the reconciler (crm/cel/reconciler.py on
synthetic CEL, bench/cel.py). Each run adds its written calls (about 1,500) to the year's database.

Part of `make bench` (bench/run.py, PBXCRM_BENCH_ONLY=year_of_calls), or alone:

    flock -o /tmp/pbxcrm-bench.lock env DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/year_of_calls.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.calls_list import filter_cases  # noqa: E402
from bench.cel import synthetic, timed  # noqa: E402
from bench.year_of_calls_data import ZONE, ensure_year  # noqa: E402
from crm.calls import listing, rule_queries  # noqa: E402
from crm.calls import queries as calls_q  # noqa: E402
from crm.calls.rules import LISTEN  # noqa: E402
from crm.calls.rules_sql import condition  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.reports.calls import CallStatsQuery, call_series, consolidated  # noqa: E402
from crm.timeline import timeline  # noqa: E402
from tests.cel_synthetic import make_cel_table, write_rows  # noqa: E402

EMPTY = "pbxcrm_bench_year_empty"
PHONES = ("103", "104", "105", "106")  # the synthetic CEL's desk phones (bench/cel.py)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _timed(runs: int, work) -> list[float]:
    """Milliseconds of each of `runs` runs after one warm-up."""
    await work()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await work()
        times.append((time.perf_counter() - t) * 1000)
    return times


def _summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "p95": pct(times, 0.95), "n": len(times)}


async def _readers(conn: asyncpg.Connection, ids: dict) -> dict:
    rules = await rule_queries.load(conn)
    users = {"supervisor": {"id": ids["boss"], "role": "supervisor"},
             "operator": {"id": ids["operators"][3], "role": "operator"}}
    return {who: (user, rules) for who, user in users.items()}


async def _calls_page(conn: asyncpg.Connection, query: listing.CallQuery, user: dict, rules) -> None:
    """What web/views/calls.calls_list asks of the database (the filters' choices aside)."""
    where = condition(rules, user, "see")
    _total, capped = await listing.count_calls(conn, query, where)
    rows = await listing.list_calls(conn, query, where, many=capped)
    await listing.playable(conn, [r["id"] for r in rows], condition(rules, user, LISTEN, start=2))


async def _reads(url: str, ids: dict, runs: int) -> dict:
    conn = await asyncpg.connect(url)
    try:
        readers = await _readers(conn, ids)
        today = dt.datetime.now(ZONE).date()
        client = ids["clients"][7]
        number = await conn.fetchval("SELECT normalized FROM contacts WHERE counterparty_id = $1 AND kind = 'phone' "
                                     "ORDER BY id LIMIT 1", client)
        surname = await conn.fetchval("SELECT search_fold(left(last_name, 5)) FROM counterparties WHERE id = $1",
                                      ids["clients"][11])
        cases = filter_cases(today, ids["operators"][1], ids["queues"][0], ids["lines"][1], number, client,
                             ids["tag"], surname)
        page = {}
        for name, query in cases:
            for who, (user, rules) in readers.items():
                page[(name, who)] = _summary(await _timed(
                    runs, lambda query=query, user=user, rules=rules: _calls_page(conn, query, user, rules)))
                print(f"year_of_calls: calls page, {name}, {who}: {page[(name, who)]}", file=sys.stderr, flush=True)
        month_end = today.replace(day=1) - dt.timedelta(days=1)
        month = CallStatsQuery(start=month_end.replace(day=1), end=month_end, group="day", timezone=str(ZONE))
        year = CallStatsQuery(start=today - dt.timedelta(days=365), end=today, group="month", timezone=str(ZONE))
        stats = {}
        for name, query, n in (("month", month, runs), ("year", year, max(6, runs // 2))):
            for who in ("supervisor", "manager"):
                user = {"id": ids["boss"], "role": who}
                rules = readers["supervisor"][1]
                turn = iter(range(1_000_000))

                async def report(query=query, user=user, rules=rules, turn=turn) -> None:
                    """The statistics page once: its series and its table, by type and by operator in turn."""
                    q = CallStatsQuery(start=query.start, end=query.end, group=query.group,
                                       by=("type", "operator")[next(turn) % 2], timezone=query.timezone)
                    await call_series(conn, q, condition(rules, user, "see", start=5))
                    await consolidated(conn, q, condition(rules, user, "see", start=4))

                stats[(name, who)] = _summary(await _timed(n if who == "supervisor" else 2, report))
                print(f"year_of_calls: stats, {name}, {who}: {stats[(name, who)]}", file=sys.stderr, flush=True)
        card = {}
        card_calls = await conn.fetchval("SELECT count(*) FROM calls WHERE counterparty_id = $1", ids["card"])
        for who, (user, rules) in readers.items():
            async def card_page(user=user, rules=rules) -> None:
                await calls_q.calls_of_counterparty(conn, ids["card"], visible=condition(rules, user, "see", start=3))
                await timeline(conn, ids["card"], ("note", "call", "task"), own_only=False,
                               visible_calls=condition(rules, user, "see", start=5))

            card[who] = _summary(await _timed(max(runs, 30), card_page))
            print(f"year_of_calls: card, {who}: {card[who]}", file=sys.stderr, flush=True)
        calls = await conn.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'calls'")
    finally:
        await conn.close()
    return {"page": page, "stats": stats, "card": card, "card_calls": card_calls, "calls": calls}


async def _phones(conn: asyncpg.Connection) -> None:
    for ext in PHONES:
        if not await conn.fetchval("SELECT 1 FROM users WHERE extension = $1 AND deleted_at IS NULL", ext):
            await conn.execute("INSERT INTO users (login, full_name, password_hash, role, extension) "
                               "VALUES ($1, $2, 'x', 'operator', $3)", f"phone{ext}", f"Phone {ext}", ext)


async def _writer(pool: asyncpg.Pool, calls: int, numbers: list[str], tag: str) -> list[float]:
    """Milliseconds per call of the call log's writes for a call answered in a queue, as the Stasis app makes
    them (ari_app/call_records.py: each write its own statement from the pool)."""
    async with pool.acquire() as conn:
        queue = await conn.fetchval("SELECT id FROM queues WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
        user = await conn.fetchval("SELECT id FROM users WHERE extension = '103' AND deleted_at IS NULL")
    times = []
    for n in range(calls):
        channel = f"w.{tag}.{n}"
        number = numbers[n % len(numbers)] if numbers else f"+7916{n:07d}"
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        async with pool.acquire() as conn:
            await calls_q.insert_call(conn, channel_id=channel, direction="incoming", caller_number=number,
                                      caller_normalized=number, caller_name="", called_number="74957654321",
                                      called_normalized="+74957654321", line="PJSIP/trunk", started_at=now,
                                      linked_id=channel)
        for write, args in ((calls_q.append_route_step, ({"code": "lookup"},)),
                            (calls_q.mark_queued, (queue, now)), (calls_q.mark_ringing, ([user], now)),
                            (calls_q.mark_answered, (now, user, queue)),
                            (calls_q.mark_ended, (now + dt.timedelta(seconds=30), 16))):
            async with pool.acquire() as conn:
                await write(conn, channel, *args)  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return times


async def _writes(url: str, cel_rows: int, writer_calls: int) -> dict:
    """The call log's writes and the reconciler over `cel_rows` new CEL rows, in the database at `url`."""
    logging.getLogger("crm.cel").setLevel(logging.ERROR)  # the synthetic CEL's garbage rows, each logged
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
        async with pool.acquire() as conn:
            await _phones(conn)
            numbers = [r["normalized"] for r in await conn.fetch(
                "SELECT normalized FROM contacts WHERE kind = 'phone' ORDER BY id LIMIT 500")]
            await conn.execute("DROP TABLE IF EXISTS cel")
            await conn.execute("DELETE FROM cel_checkpoints")
            await make_cel_table(conn)
            await write_rows(conn, synthetic(cel_rows, ["8" + n[2:] for n in numbers if n.startswith("+7")]
                                             or ["84951234567"]).rows)
            await conn.execute("ANALYZE cel")
        writes = await _writer(pool, writer_calls, numbers, f"{time.time():.0f}")
        stats, seconds = await timed(pool, url)
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE cel")
    return {"writer": _summary(writes), "reconciler": stats.rows / seconds, "cel_rows": stats.rows,
            "added": stats.added}


async def bench_year_of_calls(server_url: str, runs: int = 20, cel_rows: int = 20_000, writer_calls: int = 200) -> dict:
    url, ids = await ensure_year(server_url)
    result = await _reads(url, ids, runs)
    empty = urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path="/" + EMPTY))
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {EMPTY} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {EMPTY}")
        conn = await asyncpg.connect(empty)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        result["empty"] = await _writes(empty, cel_rows, writer_calls)
        result["full"] = await _writes(url, cel_rows, writer_calls)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {EMPTY} WITH (FORCE)")
        await admin.close()
    return result


def year_of_calls_rows(r: dict) -> list[tuple]:
    rows: list[tuple] = []
    calls = f"{r['calls'] / 1e6:.1f}M calls"
    for (name, who), s in r["page"].items():
        rows.append((f"Year of calls: calls page, {name} ({who})", f"{s['median']:.1f} ms", f"p95 {s['p95']:.1f} ms",
                     "p95 <= 100 ms", f"{s['p95'] / 100:.2f} ({s['n']} runs, {calls})"))
    for (name, who), s in r["stats"].items():
        target_ms = 500 if name == "month" else 2000
        label = "a month by day" if name == "month" else "a year by month"
        path = "the daily rollup" if who == "supervisor" else "counted over calls: the call rules are not TRUE"
        rows.append((f"Year of calls: call statistics, {label} ({who}, {path})", f"{s['median']:.0f} ms",
                     f"p95 {s['p95']:.0f} ms", f"p95 <= {target_ms} ms" if who == "supervisor" else "(not a target)",
                     f"{s['p95'] / target_ms:.2f} ({s['n']} pages, by type / by operator in turn)"))
    for who, s in r["card"].items():
        rows.append((f"Year of calls: card with {r['card_calls']:,} calls, its calls and timeline ({who})",
                     f"{s['median']:.1f} ms", f"p95 {s['p95']:.1f} ms", "p95 <= 50 ms",
                     f"{s['p95'] / 50:.2f} ({s['n']} runs)"))
    e, f = r["empty"], r["full"]
    rows.append(("Year of calls: call-log writes of one call (6 statements), 10M vs empty",
                 f"{f['writer']['median']:.1f} ms", f"empty {e['writer']['median']:.1f} ms; p95 "
                 f"{f['writer']['p95']:.1f} / {e['writer']['p95']:.1f} ms", "keeps its speed",
                 f"{f['writer']['median'] / e['writer']['median']:.2f} ({f['writer']['n']} calls)"))
    rows.append(("Year of calls: CEL reconciler, 10M vs empty", f"{f['reconciler']:,.0f} rows/s",
                 f"empty {e['reconciler']:,.0f} rows/s", "keeps its speed",
                 f"{e['reconciler'] / f['reconciler']:.2f} ({f['cel_rows']:,} CEL rows, {f['added']} calls)"))
    return rows


async def main() -> None:
    server = os.environ.get("DATABASE_URL") or sys.exit("bench: set DATABASE_URL (a server to make a database on)")
    quick = os.environ.get("PBXCRM_BENCH_QUICK") == "1"
    rows = year_of_calls_rows(await bench_year_of_calls(server, 5 if quick else 20))
    print("| benchmark | median | spread | target | ratio / n |\n|---|---|---|---|---|")
    print("\n".join("| " + " | ".join(row) + " |" for row in rows))


if __name__ == "__main__":
    asyncio.run(main())
