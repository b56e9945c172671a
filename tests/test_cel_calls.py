"""Every call logged, also those the Stasis app never saw (issue 16), for real: the sandbox's
Asterisk writes CEL into PostgreSQL (cel_pgsql), and `pbxcrm ari` builds the missing rows.

The sandbox writes into its own database (tests/telephony.py sandbox_cel_database_url), which
the app reads through PBXCRM_CEL_DATABASE_URL; `pbxcrm reconcile --since now` first starts each
test's fresh call log at the end of the sandbox's CEL, so earlier runs' calls stay out of it."""

import datetime as dt
import os
import time

import pytest

from tests import helpers
from tests.helpers import finished_call
from tests.processes import PbxcrmProcess
from tests.telephony import (
    SippPhone,
    astdb_becomes,
    sandbox_cel_database_url,
    sipp_call,
    sipp_calls_at_once,
    wait_for,
)

CALLED = "74957654321"
CALLERS = [f"8903777{i:04d}" for i in range(20)]


@pytest.fixture
async def cel_env(db, database_url, tmp_path):
    """The app's environment for reading the sandbox's CEL, its checkpoint set at the end of it."""
    env = {"PBXCRM_CEL_DATABASE_URL": sandbox_cel_database_url(), "PBXCRM_CEL_INTERVAL_SECONDS": "1"}
    output = reconcile(database_url, env, tmp_path, "--since", "now", "--grace", "0")
    assert "0 calls added" in output, output
    return env


def reconcile(database_url: str, env: dict, tmp_path, *args: str) -> str:
    """`pbxcrm reconcile ARGS` as a process; its output."""
    log = tmp_path / f"reconcile-{time.monotonic_ns()}.log"
    proc = PbxcrmProcess(["reconcile", *args], dict(os.environ, DATABASE_URL=database_url, **env), log)
    proc.spawn()
    proc.proc.wait(60)
    proc.stop()
    assert proc.proc.returncode == 0, log.read_text()
    return log.read_text()


async def calls_of(db, callers) -> list[dict]:
    async with db.acquire() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM calls WHERE caller_number = ANY($1::text[]) "
                                                  "ORDER BY channel_id", list(callers))]


@pytest.fixture
async def queue_of_three(db):
    """Petrov (103), Sidorova (104) and Orlov (105) answer the default queue, rung all at once."""
    return await helpers.queue_of_three(db)


async def test_calls_while_the_app_is_down_are_logged_complete_soon_after_it_returns(
        queue_of_three, db, database_url, cel_env, start_stasis_app, tmp_path):
    crm = queue_of_three
    app = await start_stasis_app(**cel_env)
    # The app tells the dialplan whom the default queue rings, then dies: the dialplan answers alone.
    assert await astdb_becomes("default_dial", "PJSIP/103&PJSIP/104&PJSIP/105"), app.log_text()
    app.stop()
    since = dt.datetime.now(dt.timezone.utc).isoformat()
    async with SippPhone("103", "phone_answer_hangup.xml", tmp_path), \
            SippPhone("104", "phone_answer_hangup.xml", tmp_path), \
            SippPhone("105", "phone_answer_hangup.xml", tmp_path):
        result = await sipp_calls_at_once(callers=CALLERS, called=CALLED, scenario="callers_at_once.xml",
                                          work_dir=tmp_path / "callers", timeout=60)
    assert result.returncode == 0, result.output
    assert await calls_of(db, CALLERS) == []  # nobody logged them

    back = time.monotonic()
    app = await start_stasis_app(**cel_env)

    async def all_complete():
        rows = await calls_of(db, CALLERS)
        return rows if len(rows) == len(CALLERS) and all(r["ended_at"] for r in rows) else None
    rows = await wait_for(all_complete, timeout=60, interval=0.5)
    took = time.monotonic() - back
    assert rows, f"{len(await calls_of(db, CALLERS))} of {len(CALLERS)} calls logged\n" + app.log_text()
    print(f"\n{len(CALLERS)} calls logged from CEL {took:.1f} s after the app came back")
    assert sorted(r["caller_number"] for r in rows) == sorted(CALLERS)  # one row each
    operators = {crm[name]["id"]: name for name in ("petrov", "sidorova", "orlov")}
    for row in rows:
        assert row["direction"] == "incoming" and row["called_number"] == CALLED, row
        assert row["caller_normalized"] == "+7" + row["caller_number"][1:]
        assert row["status"] == "answered" and row["operator_user_id"] in operators, row
        assert row["queue_id"] == crm["queue"] and row["line"] == "PJSIP/trunk"
        assert 0 < row["wait_seconds"] < 15 and 0.5 < row["talk_seconds"] < 10, row
        assert "from_cel" in row["route"]

    # Reading CEL again, from the checkpoint or from before the calls, changes nothing.
    async with db.acquire() as conn:
        every_row = [dict(r) for r in await conn.fetch("SELECT * FROM calls ORDER BY id")]
    assert len(every_row) == len(CALLERS)
    for args in (("--grace", "0"), ("--since", since, "--grace", "0")):
        output = reconcile(database_url, cel_env, tmp_path, *args)
        assert "0 calls added, 0 completed" in output, output
    async with db.acquire() as conn:
        assert [dict(r) for r in await conn.fetch("SELECT * FROM calls ORDER BY id")] == every_row


async def test_a_fastagi_call_shows_in_the_call_log_and_on_the_clients_card(crm, db, database_url, cel_env,
                                                                              settings, start_stasis_app, tmp_path):
    from starlette.testclient import TestClient

    from tests.helpers import login
    from web.app import create_app

    app = await start_stasis_app(**cel_env)
    agi = PbxcrmProcess(["agi", "--port", "4573"], dict(os.environ, DATABASE_URL=database_url), tmp_path / "agi.log")
    agi.spawn()
    try:
        assert await wait_for(lambda: "listening" in agi.log_text(), timeout=10), agi.log_text()
        async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
            result = await sipp_call(caller="84951234567", called="79991234567", talk_ms=1500)
            assert result.returncode == 0, result.output + agi.log_text()
            assert len(ivanova_phone.invites()) == 1
    finally:
        agi.stop()
    row = await wait_for(lambda: finished_call(db, "84951234567"), timeout=30)
    assert row is not None, app.log_text()
    assert row["counterparty_id"] == crm["client"] and row["owner_user_id"] == crm["ivanova"]["id"]
    assert (row["direction"], row["status"], row["operator_user_id"]) == ("incoming", "answered", crm["ivanova"]["id"])
    assert row["called_number"] == "79991234567" and 1.0 <= row["talk_seconds"] < 5
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login(client, "ivanova")
        card = client.get(f"/counterparties/{crm['client']}").text
        calls_page = client.get("/calls").text
    assert 'id="card-calls"' in card and 'data-label="Operator">Irina Ivanova<' in card
    assert "Asterisk logged the call itself: the CRM app did not handle it" in card
    assert "Asterisk logged the call itself" in calls_page and f'href="/counterparties/{crm["client"]}"' in calls_page


async def test_the_apps_own_calls_are_not_logged_twice_and_a_call_cut_off_by_its_death_gets_its_end(
        crm, db, cel_env, start_stasis_app, tmp_path):
    import asyncio

    app = await start_stasis_app(**cel_env)
    async with SippPhone("102", "phone_noanswer.xml", tmp_path), SippPhone("103", "phone_answer.xml", tmp_path):
        # A call the app handles to the end: the client's manager Ivanova is rung in vain (a channel of
        # the app's own, never bridged: no call of its own in CEL), then Petrov answers.
        assert (await sipp_call(caller="84951234567", called=CALLED, talk_ms=500)).returncode == 0
        assert await wait_for(lambda: finished_call(db, "84951234567")), app.log_text()
        # A call the app is killed during: a stranger talks to Petrov, and hangs up while it is away.
        call = asyncio.create_task(sipp_call(caller="89161234567", called=CALLED, talk_ms=4000, timeout=30))

        async def answered():
            async with db.acquire() as conn:
                return await conn.fetchrow("SELECT * FROM calls WHERE caller_number = '89161234567' "
                                           "AND answered_at IS NOT NULL")
        cut = await wait_for(answered, timeout=15)
        assert cut is not None, app.log_text()
        app.kill()
        assert (await call).returncode == 0
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT ended_at FROM calls WHERE id = $1", cut["id"]) is None
        app = await start_stasis_app(**cel_env)
        row = await wait_for(lambda: finished_call(db, "89161234567"), timeout=30)
    assert row is not None, app.log_text()
    assert row["id"] == cut["id"] and row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert row["ended_at"] > row["answered_at"] and "ended_in_cel" in row["route"]
    # The reconciler has read past the call the app handled, too: still its one row, as the app wrote it.
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT caller_number, route FROM calls ORDER BY id")
    assert [r["caller_number"] for r in rows] == ["84951234567", "89161234567"]
    assert "from_cel" not in rows[0]["route"] and "ended_in_cel" not in rows[0]["route"]
