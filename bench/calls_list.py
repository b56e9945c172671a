"""How fast the call log answers on a large base (issue 20, E3): a page of 50 and its capped count,
for each filter, as a supervisor (every call) and as an operator (the default call rules in the SQL).
Medians of 5 runs after one warm-up; writes bench/results/calls_list.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/calls_list.py [CALLS]

Needs only PostgreSQL. The calls: two years, 30 % missed, a third outgoing, half on a client's card.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crm.calls import listing, rule_queries  # noqa: E402
from crm.calls.rules_sql import condition  # noqa: E402
from crm.demo_data import seed  # noqa: E402
from crm.migrate import migrate  # noqa: E402

RESULTS = REPO / "bench" / "results" / "calls_list.md"
DATABASE = "pbxcrm_bench_calls_list"
RUNS = 5

CALLS_SQL = """
INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number, called_normalized,
                   started_at, answered_at, ended_at, status, operator_user_id, caller_user_id, queue_id, line_id,
                   counterparty_id, comment)
SELECT 'b.' || g, d.direction,
       CASE WHEN d.direction = 'incoming' THEN d.far ELSE '101' END,
       CASE WHEN d.direction = 'incoming' THEN d.far ELSE '101' END,
       CASE WHEN d.direction = 'incoming' THEN '100' ELSE d.far END,
       CASE WHEN d.direction = 'incoming' THEN '100' ELSE d.far END,
       d.at, CASE WHEN d.answered THEN d.at + interval '9 seconds' END, d.at + interval '90 seconds',
       CASE WHEN d.answered THEN 'answered' ELSE 'missed' END,
       CASE WHEN d.answered AND d.direction = 'incoming' THEN d.user_id END,
       CASE WHEN d.direction <> 'incoming' THEN d.user_id END,
       CASE WHEN d.direction = 'incoming' THEN d.queue_id END, d.line_id, d.cp,
       CASE WHEN g % 50 = 0 THEN 'asked for the price list' ELSE '' END
FROM generate_series(1, $1::int) g
CROSS JOIN LATERAL (SELECT
    CASE WHEN g % 3 = 0 THEN 'outgoing' WHEN g % 17 = 0 THEN 'internal' ELSE 'incoming' END AS direction,
    '+7916' || lpad((g % 400000)::text, 7, '0') AS far,
    now() - make_interval(secs => g * (63072000.0 / $1::int)) AS at,
    g % 10 >= 3 AS answered,
    ($2::bigint[])[1 + g % array_length($2::bigint[], 1)] AS user_id,
    ($3::bigint[])[1 + g % array_length($3::bigint[], 1)] AS queue_id,
    ($4::bigint[])[1 + g % array_length($4::bigint[], 1)] AS line_id,
    CASE WHEN g % 2 = 0 THEN ($5::bigint[])[1 + (g / 2) % array_length($5::bigint[], 1)] END AS cp) d
"""


def filter_cases(today: dt.date, operator_id: int, queue_id: int, line_id: int, number: str, client_id: int,
                 tag_id: int, surname: str) -> list[tuple[str, listing.CallQuery]]:
    """The call log's filters, one at a time, as a reader sets them (bench/year_of_calls.py reads them too)."""
    return [
        ("no filter", listing.CallQuery()),
        ("last 7 days", listing.CallQuery(start=today - dt.timedelta(days=7))),
        ("missed incoming", listing.CallQuery(directions=("incoming",), statuses=("missed",))),
        ("one operator", listing.CallQuery(operator_ids=(operator_id,))),
        ("one queue, a month", listing.CallQuery(queue_ids=(queue_id,), start=today - dt.timedelta(days=30))),
        ("one line", listing.CallQuery(line_ids=(line_id,))),
        ("one number", listing.CallQuery(number=number)),
        ("one client", listing.CallQuery(counterparty_id=client_id)),
        ("with a tag", listing.CallQuery(tag_ids=(tag_id,))),
        ("without a tag", listing.CallQuery(without_tag_ids=(tag_id,))),
        ("search: digits", listing.CallQuery(q=number[-7:])),
        ("search: a name", listing.CallQuery(q=surname)),
        ("search: a comment", listing.CallQuery(q="price list")),
    ]


async def main(calls_wanted: int) -> None:
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
            users = [r["id"] for r in await conn.fetch("SELECT id FROM users ORDER BY id")]
            queues = [await conn.fetchval("INSERT INTO queues (name) VALUES ($1) RETURNING id", f"Bench queue {i}")
                      for i in range(4)]
            lines = [await conn.fetchval("INSERT INTO lines (name, trunk, did) VALUES ($1, 'trunk', $2) RETURNING id",
                                         f"Bench line {i}", f"7495000000{i}") for i in range(4)]
            cps = [r["id"] for r in await conn.fetch("SELECT id FROM counterparties WHERE kind = 'client'")]
            tag = await conn.fetchval("INSERT INTO tags (name) VALUES ('Bench tag') RETURNING id")
            await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) "
                               "SELECT id, $1 FROM counterparties WHERE kind = 'client' AND id % 10 = 0", tag)
            started = time.perf_counter()
            await conn.execute(CALLS_SQL, calls_wanted, users, queues, lines, cps)
            print(f"{calls_wanted} calls written in {time.perf_counter() - started:.0f} s", flush=True)
            await conn.execute("ANALYZE")
            operator = dict(await conn.fetchrow("SELECT id, role FROM users WHERE role = 'operator' LIMIT 1")
                            or {"id": users[0], "role": "operator"})
            operator["role"] = "operator"
            rules = await rule_queries.load(conn)
            surname = await conn.fetchval("SELECT search_fold(left(last_name, 5)) FROM counterparties "
                                          "WHERE id = $1", cps[7])
            rows = []
            today = dt.date.today()
            cases = filter_cases(today, users[1], queues[0], lines[1], "+79160001234", cps[10], tag, surname)
            for name, query in cases:
                for who, user in (("supervisor", {"id": users[0], "role": "supervisor"}), ("operator", operator)):
                    visible = condition(rules, user, "see")
                    times, total = [], None
                    for run in range(RUNS + 1):
                        t = time.perf_counter()
                        total, capped = await listing.count_calls(conn, query, visible)
                        await listing.list_calls(conn, query, visible)
                        if run:
                            times.append(time.perf_counter() - t)
                    rows.append((name, who, f"{total:,}{'+' if capped else ''}", statistics.median(times) * 1000))
                    print(rows[-1], flush=True)
            calls = await conn.fetchval("SELECT count(*) FROM calls")
        finally:
            await conn.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.close()
    lines_out = [
        f"# The call log on a large base (bench/calls_list.py), {dt.date.today()}",
        "",
        f"{platform.node()}: {os.cpu_count()} CPU, Python {platform.python_version()}; {calls:,} calls over two years, "
        "20,000 clients. A page of 50 and its count capped at 10,000, median of 5 runs after a warm-up.",
        "",
        "| filter | reader | count | ms |",
        "| --- | --- | ---: | ---: |",
        *[f"| {name} | {who} | {total} | {ms:.0f} |" for name, who, total, ms in rows],
    ]
    text = "\n".join(lines_out) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
