"""Call records from CEL against PostgreSQL: the reconciler reads a CEL table written as cel_pgsql
writes it (tests/cel_synthetic.py) and writes the call log - once, whatever happens to it."""

import asyncio
import datetime as dt
import json
import logging
import os
import secrets
import signal

import asyncpg
import pytest

from crm.calls import queries as calls_q
from crm.cel.reconciler import Reconciler
from tests.cel_synthetic import T0, Cel, make_cel_table, write_rows
from tests.conftest import _with_database
from tests.processes import PbxcrmProcess
from tests.telephony import wait_for

S = dt.timedelta(seconds=1)
CLIENT = "84951234567"  # Sokolov Ivan, Ivanova's client (tests/helpers.py)


@pytest.fixture
async def cel(db):
    """An empty CEL table in the test database (DATABASE_URL's: the default place to read it)."""
    async with db.acquire() as conn:
        await make_cel_table(conn)
    yield Cel()
    async with db.acquire() as conn:
        await conn.execute("DROP TABLE cel")  # `pbxcrm ari` of later tests must find no CEL here


@pytest.fixture
def reconciler(db, settings):
    return Reconciler.from_settings(db, settings, batch_rows=50)


async def write(db, cel: Cel) -> None:
    async with db.acquire() as conn:
        await write_rows(conn, cel.rows)
    cel.rows.clear()


async def call_log(db) -> list[dict]:
    async with db.acquire() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM calls ORDER BY channel_id")]


async def checkpoint(db) -> dict:
    async with db.acquire() as conn:
        return dict(await conn.fetchrow("SELECT * FROM cel_checkpoints"))


async def test_calls_nobody_logged_become_complete_rows_and_reading_again_changes_nothing(crm, cel, db,
                                                                                        reconciler):
    answered = cel.fallback_call(CLIENT, T0, ring=2.0, talk=30.0)
    missed = cel.fallback_call("84990001122", T0 + 60 * S, phone=None, wait=12)
    placed = cel.placed_call("102", "84951234567", T0 + 120 * S, talk=10)
    await write(db, cel)

    stats = await reconciler.catch_up()
    assert (stats.added, stats.completed, stats.garbage, stats.skipped_calls) == (3, 0, 0, 0)
    rows = {r["channel_id"]: r for r in await call_log(db)}
    row = rows[answered.uniqueid]
    assert (row["direction"], row["status"], row["caller_normalized"], row["called_number"]) == (
        "incoming", "answered", "+74951234567", "74957654321")
    assert row["counterparty_id"] == crm["client"] and row["owner_user_id"] == crm["ivanova"]["id"]
    assert row["operator_user_id"] == crm["petrov"]["id"] and row["queue_id"] == crm["queue"]
    assert (row["wait_seconds"], row["talk_seconds"], row["hangup_cause"]) == (2.5, 30, 16)
    assert row["linked_id"] == answered.linkedid and row["line"] == "PJSIP/trunk"
    assert rows[missed.uniqueid]["status"] == "missed" and rows[missed.uniqueid]["wait_seconds"] == 12
    assert rows[missed.uniqueid]["counterparty_id"] is None
    out = rows[placed.uniqueid]
    assert (out["direction"], out["caller_user_id"], out["operator_user_id"], out["counterparty_id"]) == (
        "outgoing", crm["ivanova"]["id"], crm["ivanova"]["id"], crm["client"])
    mark = await checkpoint(db)
    assert mark["calls_added"] == 3 and mark["last_id"] == 15 + 10 + 11

    before = await call_log(db)
    assert (await reconciler.catch_up()).rows == 0  # from the checkpoint: nothing new
    again = await reconciler.catch_up(since=T0 - 60 * S)  # everything read again
    assert again.rows == 36 and (again.added, again.completed) == (0, 0)
    assert await call_log(db) == before
    assert await checkpoint(db) | {"updated_at": None} == mark | {"updated_at": None}


async def test_a_call_the_app_logged_is_never_logged_again_and_its_unfinished_row_gets_its_end(crm, cel, db,
                                                                                            reconciler):
    finished = cel.fallback_call(CLIENT, T0)
    cut_short = cel.fallback_call("84990001122", T0 + 10 * S, ring=1.0, talk=5.0)
    await write(db, cel)
    async with db.acquire() as conn:
        for ch in (finished, cut_short):  # as the app writes them at StasisStart
            await calls_q.insert_call(conn, channel_id=ch.uniqueid, direction="incoming", caller_number=ch.cid_num,
                                      caller_normalized=None, caller_name="", called_number="74957654321",
                                      called_normalized=None, line="PJSIP/trunk", started_at=T0, linked_id=ch.linkedid)
        await calls_q.mark_ended(conn, finished.uniqueid, T0 + 9 * S, 16)  # the app saw this one end; not the other

    stats = await reconciler.catch_up()
    assert (stats.added, stats.completed) == (0, 1)
    rows = {r["channel_id"]: r for r in await call_log(db)}
    assert len(rows) == 2
    assert rows[finished.uniqueid]["ended_at"] == T0 + 9 * S  # the app's end stays
    done = rows[cut_short.uniqueid]
    assert done["ended_at"] == T0 + 16.5 * S and done["answered_at"] == T0 + 11.5 * S
    assert done["status"] == "answered" and done["operator_user_id"] == crm["petrov"]["id"]
    assert json.loads(done["route"])[-1]["code"] == "ended_in_cel"
    assert (await reconciler.catch_up(since=T0 - S)).completed == 0


async def test_garbage_rows_are_skipped_logged_and_counted_and_the_calls_around_them_are_logged(
        crm, cel, db, reconciler, caplog):
    cel.fallback_call("84990000001", T0)
    jumped = cel.fallback_call("84990000002", T0 + 60 * S)
    for row in cel.rows:
        if row["uniqueid"] == jumped.uniqueid and row["eventtype"] == "CHAN_END":
            row["eventtime"] -= dt.timedelta(hours=3)
    good = cel.fallback_call("84990000003", T0 + 120 * S)
    cel.event("CHAN_START", T0, cel.channel("PJSIP/trunk", "1"), linkedid="")
    cel.event("NOT_AN_EVENT", T0, good)
    cel.event("CHAN_START", dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc), cel.channel("PJSIP/trunk", "2"))
    await write(db, cel)

    with caplog.at_level(logging.WARNING, logger="crm.cel.reconciler"):
        stats = await reconciler.catch_up()
    assert (stats.added, stats.garbage, stats.skipped_calls) == (2, 3, 1)
    assert sorted(r["caller_number"] for r in await call_log(db)) == ["84990000001", "84990000003"]
    logged = caplog.text
    assert "CHAN_START without a linkedid" in logged and "unknown event type 'NOT_AN_EVENT'" in logged
    assert "in the future: the clock jumped" in logged and f"CEL call {jumped.linkedid}" in logged
    mark = await checkpoint(db)
    assert (mark["garbage_rows"], mark["skipped_calls"], mark["calls_added"]) == (3, 1, 2)
    await reconciler.catch_up(since=T0 - S)  # read again: counted once
    assert (await checkpoint(db))["garbage_rows"] == 3


async def test_missed_calls_become_callback_tasks_as_the_apps_do(crm, cel, db, reconciler):
    now = dt.datetime.now(dt.timezone.utc)
    cel.fallback_call(CLIENT, now - 600 * S, phone=None, wait=20)
    cel.fallback_call("84990001122", now - 500 * S, phone=None, wait=20)
    cel.fallback_call(CLIENT, now - 30 * 3600 * S, phone=None, wait=20)  # a day ago: too late to call back
    await write(db, cel)
    stats = await reconciler.catch_up()
    assert (stats.added, stats.callbacks) == (3, 2)
    async with db.acquire() as conn:
        tasks = await conn.fetch("SELECT * FROM tasks ORDER BY id")
    client, stranger = tasks
    assert client["counterparty_id"] == crm["client"] and client["responsible_user_id"] == crm["ivanova"]["id"]
    # The stranger's is the default queue's: the dialplan's default queue is where the call waited.
    assert stranger["queue_id"] == crm["queue"] and stranger["callback_normalized"] == "+74990001122"


async def test_since_now_starts_reading_at_the_end_of_the_table(crm, cel, db, reconciler):
    cel.fallback_call("84990000001", T0)
    await write(db, cel)
    assert (await reconciler.catch_up(since=dt.datetime.now(dt.timezone.utc))).added == 0
    assert (await checkpoint(db))["last_id"] == 15
    cel.fallback_call("84990000002", T0 + 60 * S)
    await write(db, cel)
    assert (await reconciler.catch_up()).added == 1
    assert [r["caller_number"] for r in await call_log(db)] == ["84990000002"]


async def test_a_cel_table_in_another_database_is_read_from_there(crm, db, server_url, settings):
    name = f"pbxcrm_cel_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(_with_database(server_url, name))
        try:
            await make_cel_table(conn)
            cel = Cel()
            cel.fallback_call(CLIENT, T0)
            await write_rows(conn, cel.rows)
        finally:
            await conn.close()
        other = Reconciler(db, cel_url=_with_database(server_url, name), table="cel", region="RU",
                           timezone=settings.timezone, same_database=False)
        try:
            assert (await other.catch_up()).added == 1
        finally:
            await other.close()
        assert [r["counterparty_id"] for r in await call_log(db)] == [crm["client"]]
        assert (await checkpoint(db))["source"].endswith(f"/{name}/cel")
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_reconciler_killed_mid_batch_leaves_nothing_of_that_batch_and_the_next_run_does_it_once(
        crm, cel, db, database_url, tmp_path):
    calls = [cel.fallback_call(f"8499000000{i}", T0 + i * 60 * S) for i in range(8)]  # 15 rows each
    await write(db, cel)
    app_row = calls[5]  # the app logged this one and died before its end: the third batch completes it
    async with db.acquire() as conn:
        await calls_q.insert_call(conn, channel_id=app_row.uniqueid, direction="incoming",
                                  caller_number=app_row.cid_num, caller_normalized=None, caller_name="",
                                  called_number="74957654321", called_normalized=None, line="PJSIP/trunk",
                                  started_at=T0, linked_id=app_row.linkedid)
    env = dict(os.environ, DATABASE_URL=database_url)
    holder = await db.acquire()
    lock = holder.transaction()
    await lock.start()
    try:
        # The third batch (calls 4 and 5) adds call 4's row, then waits on this lock to complete call 5's.
        await holder.execute("SELECT 1 FROM calls WHERE channel_id = $1 FOR UPDATE", app_row.uniqueid)
        first = PbxcrmProcess(["reconcile", "--grace", "0", "--batch-rows", "30"], env, tmp_path / "first.log")
        first.spawn()

        async def blocked():  # asked outside the lock's transaction, which sees one snapshot of the activity
            async with db.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'") > 0
        assert await wait_for(blocked, timeout=20), first.log_text()
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        first.stop()
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT last_id FROM cel_checkpoints") == 60  # two batches committed
            assert await conn.fetchval("SELECT count(*) FROM calls") == 5  # calls 0-3, and the app's row
    finally:
        await lock.rollback()
        await db.release(holder)

    second = PbxcrmProcess(["reconcile", "--grace", "0", "--batch-rows", "30"], env, tmp_path / "second.log")
    second.spawn()
    await asyncio.get_running_loop().run_in_executor(None, second.proc.wait, 30)
    second.stop()
    assert second.proc.returncode == 0, second.log_text()
    assert "3 calls added, 1 completed" in second.log_text()
    rows = await call_log(db)
    assert sorted(r["caller_number"] for r in rows) == sorted(c.cid_num for c in calls)  # each exactly once
    assert all(r["ended_at"] is not None for r in rows)
    mark = await checkpoint(db)
    assert (mark["last_id"], mark["calls_added"], mark["calls_completed"]) == (120, 7, 1)


async def test_a_table_made_anew_is_read_from_its_start_but_a_reader_further_on_is_no_reason_to(crm, cel, db,
                                                                                            reconciler, caplog):
    cel.fallback_call("84990000001", T0)
    cel.fallback_call("84990000002", T0 + 60 * S)
    await write(db, cel)
    assert (await reconciler.catch_up()).added == 2
    # Another reconciler read further than this one's bound (`pbxcrm reconcile` beside `pbxcrm ari`).
    assert (await reconciler.catch_up(upto=20)).rows == 0 and (await checkpoint(db))["last_id"] == 30
    async with db.acquire() as conn:
        await conn.execute("TRUNCATE cel RESTART IDENTITY")  # Asterisk's table made anew: ids from 1 again
    cel.fallback_call("84990000003", T0 + 120 * S)
    await write(db, cel)
    with caplog.at_level(logging.WARNING, logger="crm.cel.reconciler"):
        assert (await reconciler.catch_up()).added == 1
    assert "the table was made anew" in caplog.text
    assert len(await call_log(db)) == 3 and (await checkpoint(db))["last_id"] == 15
