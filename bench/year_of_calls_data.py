"""The year of calls' database (bench/year_of_calls.py, issue 25), built once and reused: pbxcrm_bench_year.

100 operators in 8 queues, 6 lines, 50,000 clients (a tag on every tenth); 10,000,000 calls on the weekdays of
the past year, in business hours (09-19 Moscow, busiest after lunch), written day by day in time order as a live
table is; 60 % incoming (35 % of them missed), 35 % outgoing (20 % unanswered), 5 % internal, so about 30 %
missed; 70 % of outside calls with a known client (a few clients call a lot), one client with exactly 10,000
calls; talk time exponential around 3 minutes. The calls go in with the secondary indexes and triggers off; the
indexes are made after, the rollup counted by crm/reports/call_rollup.rebuild.

    flock -o /tmp/pbxcrm-bench.lock env DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/year_of_calls_data.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
import urllib.parse
import zoneinfo
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crm.demo_data import seed  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.reports import call_rollup  # noqa: E402

DATABASE = os.environ.get("PBXCRM_BENCH_YEAR_DB", "pbxcrm_bench_year")
CALLS = int(os.environ.get("PBXCRM_BENCH_YEAR_CALLS", "10000000"))
CLIENTS = 50_000
OPERATORS = 100
QUEUES = 8
LINES = 6
CARD_CALLS = 10_000
ZONE = zoneinfo.ZoneInfo("Europe/Moscow")
COMMENTS = ["asked for the price list", "wants a callback tomorrow", "complaint about the delivery",
            "new order", "asked about the invoice"]

# One day's calls, in time order. $1, $2: the first and last number of the day's calls; $3: the day's local
# midnight; $4 operators, $5 queues, $6 lines, $7 clients, $8 their phones (digits), $9 the 10,000-call client,
# $10 its phone, $11 the comments, $12 every how many calls the 10,000-call client's.
DAY_SQL = """
INSERT INTO calls (channel_id, linked_id, direction, caller_number, caller_normalized, called_number,
                   called_normalized, line, line_id, started_at, answered_at, ended_at, status, hangup_cause,
                   counterparty_id, operator_user_id, caller_user_id, queue_id, comment, created_at)
SELECT 'y.' || g, 'y.' || g, d.direction,
       CASE WHEN d.direction = 'incoming' THEN d.far ELSE d.ext END,
       CASE WHEN d.direction = 'incoming' THEN d.far ELSE d.ext END,
       CASE WHEN d.direction = 'incoming' THEN '74957654321' ELSE d.far END,
       CASE WHEN d.direction = 'incoming' THEN '+74957654321' ELSE d.far END,
       CASE WHEN d.direction = 'internal' THEN '' ELSE 'trunk' END,
       CASE WHEN d.direction <> 'internal' THEN ($6::bigint[])[1 + g % cardinality($6::bigint[])] END,
       d.at, CASE WHEN d.answered THEN d.at + make_interval(secs => d.wait) END,
       d.at + make_interval(secs => d.wait + CASE WHEN d.answered THEN d.talk ELSE 0 END),
       d.status, CASE d.status WHEN 'busy' THEN 17 WHEN 'failed' THEN 34 ELSE 16 END,
       d.client, CASE WHEN d.answered AND d.direction = 'incoming' THEN d.op END,
       CASE WHEN d.direction <> 'incoming' THEN d.op END,
       CASE WHEN d.direction = 'incoming' THEN d.queue END,
       CASE WHEN d.r_comment < 0.03 THEN ($11::text[])[1 + g % cardinality($11::text[])] ELSE '' END, d.at
FROM generate_series($1::int, $2::int) g
CROSS JOIN LATERAL (SELECT random() + 0 * g AS r_dir, random() + 0 * g AS r_status, random() + 0 * g AS r_client,
                           random() + 0 * g AS r_comment,
                           floor(random() * cardinality($4::bigint[]))::int + 0 * g AS opi,
                           (random() + random()) / 2 AS r_hour, random() AS r_talk, random() AS r_wait) r
CROSS JOIN LATERAL (SELECT CASE WHEN r.r_dir < 0.60 THEN 'incoming' WHEN r.r_dir < 0.95 OR g % $12 = 7
                                THEN 'outgoing' ELSE 'internal' END AS direction) k
CROSS JOIN LATERAL (SELECT k.direction, r.r_comment,
    $3::timestamptz + make_interval(secs => 9 * 3600 + r.r_hour * 10 * 3600) AS at,
    ($4::bigint[])[1 + r.opi] AS op, ($5::bigint[])[1 + r.opi % cardinality($5::bigint[])] AS queue,
    '2' || lpad((100 + r.opi)::text, 3, '0') AS ext,
    r.r_status >= CASE k.direction WHEN 'incoming' THEN 0.35 WHEN 'outgoing' THEN 0.20 ELSE 0.10 END AS answered,
    CASE WHEN r.r_status >= CASE k.direction WHEN 'incoming' THEN 0.35 WHEN 'outgoing' THEN 0.20 ELSE 0.10 END
         THEN 'answered' WHEN k.direction <> 'outgoing' OR r.r_status < 0.14 THEN 'missed'
         WHEN r.r_status < 0.18 THEN 'busy' ELSE 'failed' END AS status,
    greatest(1, -ln(1 - r.r_talk) * 180) AS talk,
    CASE WHEN k.direction = 'outgoing' THEN 5 + r.r_wait * 20
         WHEN r.r_status < 0.35 THEN 10 + r.r_wait * 80 ELSE 2 + r.r_wait * 40 END AS wait,
    CASE WHEN k.direction = 'internal' THEN NULL WHEN g % $12 = 7 THEN $9::bigint
         WHEN r.r_client < 0.7 THEN ($7::bigint[])[1 + floor(cardinality($7::bigint[]) * r.r_client ^ 3 / 0.343)::int]
         END AS client,
    CASE WHEN k.direction = 'internal' THEN '2' || lpad((100 + (r.opi + 37) % 100)::text, 3, '0')
         WHEN g % $12 = 7 THEN $10
         WHEN r.r_client < 0.7
         THEN '+' || ($8::bigint[])[1 + floor(cardinality($8::bigint[]) * r.r_client ^ 3 / 0.343)::int]
         ELSE '+7916' || lpad(floor(r.r_client * 10000000)::text, 7, '0') END AS far) d
ORDER BY d.at
"""


def db_url(server_url: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path="/" + DATABASE))


def weekdays(today: dt.date) -> list[dt.date]:
    """The weekdays of the year before today."""
    days = [today - dt.timedelta(days=n) for n in range(365, 0, -1)]
    return [d for d in days if d.weekday() < 5]


async def _people(conn: asyncpg.Connection) -> dict:
    """100 operators in 8 queues, 6 lines, a supervisor, the clients (with a tag on every tenth) and the
    client with 10,000 calls: made once."""
    if not await conn.fetchval("SELECT 1 FROM users WHERE login = 'year.boss'"):
        await conn.execute("INSERT INTO users (login, full_name, password_hash, role) "
                           "VALUES ('year.boss', 'Year Boss', 'x', 'supervisor')")
        await conn.execute(
            """INSERT INTO users (login, full_name, password_hash, role, extension)
               SELECT 'year.op' || n, 'Operator ' || n, 'x', 'operator', '2' || lpad((100 + n)::text, 3, '0')
               FROM generate_series(0, $1 - 1) n""", OPERATORS)
        for i in range(QUEUES):
            await conn.execute("INSERT INTO queues (name) VALUES ($1)", f"Year queue {i}")
        for i in range(LINES):
            await conn.execute("INSERT INTO lines (name, trunk, did) VALUES ($1, 'trunk', $2)",
                               f"Year line {i}", f"749500001{i}")
        await seed(conn, CLIENTS, seed_value=25)
        card = await conn.fetchval("INSERT INTO counterparties (kind, last_name, first_name) "
                                   "VALUES ('client', 'Tysyachnikov', 'Year') RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '+79990010000', '+79990010000')", card)
        tag = await conn.fetchval("INSERT INTO tags (name) VALUES ('Year tag') RETURNING id")
        await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) "
                           "SELECT id, $1 FROM counterparties WHERE kind = 'client' AND id % 10 = 0", tag)
        await conn.execute(
            """INSERT INTO queue_members (queue_id, user_id)
               SELECT q.id, u.id FROM users u JOIN queues q ON q.name = 'Year queue ' || (substr(u.login, 8)::int % $1)
               WHERE u.login LIKE 'year.op%'""", QUEUES)
    ids = {
        "operators": [r["id"] for r in await conn.fetch("SELECT id FROM users WHERE login LIKE 'year.op%' "
                                                        "ORDER BY substr(login, 8)::int")],
        "queues": [r["id"] for r in await conn.fetch("SELECT id FROM queues WHERE name LIKE 'Year queue %' "
                                                     "ORDER BY id")],
        "lines": [r["id"] for r in await conn.fetch("SELECT id FROM lines WHERE name LIKE 'Year line %' ORDER BY id")],
        "boss": await conn.fetchval("SELECT id FROM users WHERE login = 'year.boss'"),
        "card": await conn.fetchval("SELECT id FROM counterparties WHERE last_name = 'Tysyachnikov'"),
        "tag": await conn.fetchval("SELECT id FROM tags WHERE name = 'Year tag'"),
    }
    clients = await conn.fetch(
        """SELECT DISTINCT ON (c.id) c.id, k.normalized FROM counterparties c
           JOIN contacts k ON k.counterparty_id = c.id AND k.kind = 'phone'
           WHERE c.kind = 'client' AND c.id <> $1 ORDER BY c.id, k.id""", ids["card"])
    ids["clients"] = [r["id"] for r in clients]
    ids["phones"] = [int(r["normalized"].lstrip("+")) for r in clients]  # as numbers: a text[] is read from its start
    return ids


async def _load_calls(conn: asyncpg.Connection, ids: dict, calls: int) -> None:
    """The year's calls with the secondary indexes and triggers off; then the indexes, the rollup, ANALYZE."""
    indexes = [r["indexdef"] for r in await conn.fetch(
        """SELECT indexdef FROM pg_indexes i WHERE tablename = 'calls' AND NOT EXISTS (
               SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)""")]
    for definition in indexes:
        await conn.execute("DROP INDEX " + definition.split()[2 if definition.startswith("CREATE INDEX") else 3])
    days = weekdays(dt.datetime.now(ZONE).date())
    started = time.monotonic()
    await conn.execute("SET session_replication_role = replica")  # no triggers: the rollup is counted after
    first = 1
    for n, day in enumerate(days):
        last = calls * (n + 1) // len(days)
        midnight = dt.datetime.combine(day, dt.time(), ZONE)
        await conn.execute(DAY_SQL, first, last, midnight, ids["operators"], ids["queues"], ids["lines"],
                           ids["clients"], ids["phones"], ids["card"], "+79990010000", COMMENTS,
                           calls // CARD_CALLS)
        first = last + 1
        if n % 20 == 0:
            print(f"year_of_calls: {day} written, {last:,} calls, {time.monotonic() - started:.0f} s",
                  file=sys.stderr, flush=True)
    await conn.execute("RESET session_replication_role")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    for definition in indexes:
        t = time.monotonic()
        await conn.execute(definition)
        print(f"year_of_calls: {definition[:60]}... {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    t = time.monotonic()
    rows = await call_rollup.rebuild(conn)
    print(f"year_of_calls: rollup {rows:,} rows in {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    await conn.execute("VACUUM ANALYZE calls")
    await conn.execute("VACUUM ANALYZE call_stats_hourly")


async def ensure_year(server_url: str, calls: int = CALLS) -> tuple[str, dict]:
    """The bench's database, its 10,000,000 calls made once; (its URL, the ids the bench needs)."""
    url = db_url(server_url)
    admin = await asyncpg.connect(server_url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(url, command_timeout=None)
    try:
        t = time.monotonic()
        applied = await migrate(conn)
        if applied:  # onto the year's calls when they are there already: how long a real base's upgrade takes
            print(f"year_of_calls: migrated {', '.join(applied)} in {time.monotonic() - t:.0f} s",
                  file=sys.stderr, flush=True)
        await conn.execute("CREATE TABLE IF NOT EXISTS year_bench_built (calls bigint NOT NULL)")
        ids = await _people(conn)
        built = await conn.fetchval("SELECT calls FROM year_bench_built")
        if built is None:
            print(f"year_of_calls: writing {calls:,} calls (once)", file=sys.stderr, flush=True)
            t = time.monotonic()
            await _load_calls(conn, ids, calls)
            await conn.execute("INSERT INTO year_bench_built (calls) VALUES ($1)", calls)
            print(f"year_of_calls: built in {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
        ids["calls"] = await conn.fetchval("SELECT calls FROM year_bench_built")
        return url, ids
    finally:
        await conn.close()


async def main() -> None:
    server = os.environ.get("DATABASE_URL") or sys.exit("bench: set DATABASE_URL (a server to make a database on)")
    await ensure_year(server)


if __name__ == "__main__":
    asyncio.run(main())
