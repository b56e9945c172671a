"""The call statistics' rollup (issue 25, crm/migrations/0050): the migration counts the calls a base already
has without touching a row; the call log's writes, the reconciler's fixes and later updates keep it equal to a
count over the calls; the statistics page answers from it with the numbers a count over the calls gives."""

import datetime as dt

import asyncpg

from crm.calls import queries as calls_q
from crm.migrate import load_migrations, migrate
from crm.reports import call_rollup
from tests.cel_synthetic import T0
from tests.helpers import login, make_user
from tests.test_cel_reconciler import cel, reconciler, write  # noqa: F401 (fixtures)

S = dt.timedelta(seconds=1)
DAY = "2026-03-02"  # T0's day, in Moscow too

_CALLS_SQL = """
INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status, operator_user_id,
                   caller_user_id, queue_id)
SELECT 'm.' || g, (ARRAY['incoming', 'outgoing', 'internal'])[1 + g % 3],
       $1::timestamptz + make_interval(mins => g * 7),
       CASE WHEN g % 4 <> 0 THEN $1::timestamptz + make_interval(mins => g * 7, secs => g % 30) END,
       CASE WHEN g % 10 <> 0 THEN $1::timestamptz + make_interval(mins => g * 7, secs => 40 + g % 50) END,
       CASE WHEN g % 10 = 0 THEN 'ringing' WHEN g % 4 <> 0 THEN 'answered' ELSE 'missed' END,
       CASE WHEN g % 4 <> 0 AND g % 3 = 0 THEN $2::bigint END, CASE WHEN g % 3 <> 0 THEN $3::bigint END,
       CASE WHEN g % 3 = 0 THEN $4::bigint END
FROM generate_series(1, $5::int) g"""


async def test_migration_0050_counts_a_populated_calls_table_and_loses_no_row(database_url, tmp_path):
    migrations = load_migrations()
    for m in migrations:
        if m.version < 50:
            (tmp_path / m.name).write_text(m.sql)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA mig50; SET search_path = mig50, public")
        await migrate(conn, tmp_path)
        users = [await conn.fetchval("INSERT INTO users (login, full_name, password_hash, role) "
                                     "VALUES ($1, $1, 'x', 'operator') RETURNING id", name) for name in ("a1", "b2")]
        queue = await conn.fetchval("INSERT INTO queues (name) VALUES ('Q') RETURNING id")
        await conn.execute(_CALLS_SQL, T0 - dt.timedelta(days=40), *users, queue, 3000)
        before = await conn.fetch("SELECT * FROM calls ORDER BY id")

        m50 = next(m for m in migrations if m.version == 50)
        (tmp_path / m50.name).write_text(m50.sql)
        assert await migrate(conn, tmp_path) == [m50.name]

        assert await conn.fetch("SELECT * FROM calls ORDER BY id") == before  # every row, as it was
        assert await call_rollup.differences(conn) == []
        assert await conn.fetchval("SELECT sum(calls) FROM call_stats_hourly") == \
            sum(1 for r in before if r["ended_at"] is not None) == 2700
        # From now on the triggers count: a call ends, another moves to the other operator.
        await conn.execute("UPDATE calls SET ended_at = started_at + interval '1 minute', status = 'missed' "
                           "WHERE channel_id = 'm.10'")
        await conn.execute("UPDATE calls SET operator_user_id = $1 WHERE channel_id = 'm.3'", users[1])
        assert await call_rollup.differences(conn) == []
        assert await conn.fetchval("SELECT sum(calls) FROM call_stats_hourly") == 2701
    finally:
        await conn.execute("DROP SCHEMA mig50 CASCADE")
        await conn.close()


def _report(web, **params) -> dict:
    answer = web.get("/api/reports/calls", params={"from": DAY, "to": DAY, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_call_logs_writes_and_the_reconcilers_fixes_keep_the_rollup_and_the_report_right(
        crm, cel, db, reconciler, web):  # noqa: F811 (fixtures)
    await make_user(db, "boss", "supervisor")
    # The Stasis app's writes, as ari_app/call_records.py makes them: answered in the queue, missed, still ringing.
    async with db.acquire() as conn:
        for n, caller in enumerate(("84951234567", "84990001122", "84990003344")):
            await calls_q.insert_call(conn, channel_id=f"app.{n}", direction="incoming", caller_number=caller,
                                      caller_normalized=None, caller_name="", called_number="74957654321",
                                      called_normalized=None, line="PJSIP/trunk", started_at=T0 + n * 60 * S,
                                      linked_id=f"app.{n}")
            await calls_q.mark_queued(conn, f"app.{n}", crm["queue"], T0 + n * 60 * S)
            await calls_q.append_route_step(conn, f"app.{n}", {"code": "queue"})
        await calls_q.mark_answered(conn, "app.0", T0 + 4 * S, crm["petrov"]["id"], crm["queue"])
        await calls_q.mark_ended(conn, "app.0", T0 + 94 * S, 16)
        await calls_q.mark_caller_left(conn, "app.1", "callback")
        await calls_q.mark_ended(conn, "app.1", T0 + 90 * S, 16)
        await calls_q.set_comment(conn, await calls_q.call_id_by_channel(conn, "app.0"), "asked for a price")
    # The reconciler: calls nobody logged, and the end of one the app left unfinished.
    cel.fallback_call("84951234567", T0 + 600 * S, ring=2.0, talk=30.0)
    cel.fallback_call("84990005566", T0 + 700 * S, phone=None, wait=12)
    cel.placed_call("102", "84951234567", T0 + 800 * S, talk=10)
    cut_short = cel.fallback_call("84990007788", T0 + 900 * S, ring=1.0, talk=5.0)
    await write(db, cel)
    async with db.acquire() as conn:
        await calls_q.insert_call(conn, channel_id=cut_short.uniqueid, direction="incoming",
                                  caller_number=cut_short.cid_num, caller_normalized=None, caller_name="",
                                  called_number="74957654321", called_normalized=None, line="PJSIP/trunk",
                                  started_at=T0 + 900 * S, linked_id=cut_short.linkedid)
    stats = await reconciler.catch_up()
    assert (stats.added, stats.completed) == (3, 1)
    async with db.acquire() as conn:
        # A fix by hand: the answered call was the other queue's and Ivanova's.
        other = await conn.fetchval("INSERT INTO queues (name) VALUES ('Sales') RETURNING id")
        await conn.execute("UPDATE calls SET queue_id = $1, operator_user_id = $2 WHERE channel_id = 'app.0'",
                           other, crm["ivanova"]["id"])
        assert await call_rollup.differences(conn) == []
        assert await conn.fetchval("SELECT sum(calls) FROM call_stats_hourly") == 6  # all but the ringing one
        total = await conn.fetchval("SELECT count(*) FROM calls")
    assert total == 7

    # The supervisor's report is read from the rollup (and the ringing call from calls); a manager's, who
    # under the default rules sees the same calls, is counted over the calls: the same numbers.
    login(web, "boss")
    boss = [_report(web, by=by, group=group) for by in ("type", "operator") for group in ("hour", "day")]
    assert sum(sum(s["calls"]) for s in boss[1]["series"].values()) == 7
    web.cookies.clear()
    login(web, "ivanova")
    manager = [_report(web, by=by, group=group) for by in ("type", "operator") for group in ("hour", "day")]
    assert boss == manager


async def test_deleted_calls_stay_counted_until_their_period_is_recounted(db, web):
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        await conn.execute(_CALLS_SQL, T0, boss["id"], boss["id"], None, 40)
        await conn.execute("DELETE FROM calls WHERE channel_id IN ('m.1', 'm.2')")  # as retention would
        assert await conn.fetchval("SELECT sum(calls) FROM call_stats_hourly") == 36
    login(web, "boss")
    assert sum(_report(web)["series"]["internal"]["calls"]) == 13  # m.2 still counted, m.1 too (outgoing)
    async with db.acquire() as conn:
        await call_rollup.rebuild(conn, T0, T0 + dt.timedelta(days=1))
        assert await call_rollup.differences(conn) == []
        assert await conn.fetchval("SELECT sum(calls) FROM call_stats_hourly") == 34


async def test_the_days_follow_the_call_centres_zone_and_the_hours_answer_other_whole_hour_zones(db):
    boss = await make_user(db, "boss", "supervisor")
    day, winter = dt.date(2026, 3, 2), dt.date(2026, 7, 1)  # Lord Howe Island: +11:00 in summer, +10:30 in winter
    async with db.acquire() as conn:
        # From 16:07 to 20:40 UTC: 19:07 to 23:40 in Moscow; over midnight (18:30 UTC) in Kolkata.
        await conn.execute(_CALLS_SQL, T0 + dt.timedelta(hours=7), boss["id"], boss["id"], None, 40)

        async def level(tz: str, group: str = "day", visible=("true", []), tags=(), without=(), end=day):
            return await call_rollup.level(conn, visible, tags, without, group, day, end, tz)

        assert await level("Europe/Moscow") == "daily" and await level("Europe/Moscow", "hour") == "hourly"
        assert await level("Europe/Berlin") == "hourly" and await level("Asia/Kolkata") is None  # +05:30
        assert await level("Australia/Lord_Howe") == "hourly"
        assert await level("Australia/Lord_Howe", end=winter) is None
        assert await level("Europe/Moscow", visible=("(c.owner_user_id = $1)", [5])) is None
        assert await level("Europe/Moscow", tags=(3,)) is None and await level("Europe/Moscow", without=(3,)) is None

        # Another zone for the call centre (PBXCRM_TIMEZONE at `pbxcrm migrate`): its days are recounted.
        assert dict(await conn.fetch("SELECT day, sum(calls) FROM call_stats_daily GROUP BY 1")) == \
            {dt.date(2026, 3, 2): 36}
        try:
            assert await call_rollup.set_zone(conn, "Asia/Kolkata")
            assert not await call_rollup.set_zone(conn, "Asia/Kolkata")
            assert await level("Asia/Kolkata") == "daily" and await level("Europe/Moscow") == "hourly"
            assert await call_rollup.differences(conn) == []
            assert dict(await conn.fetch("SELECT day, sum(calls) FROM call_stats_daily GROUP BY 1")) == \
                {dt.date(2026, 3, 2): 19, dt.date(2026, 3, 3): 17}
        finally:
            await call_rollup.set_zone(conn, "Europe/Moscow")
        assert await call_rollup.differences(conn) == []
