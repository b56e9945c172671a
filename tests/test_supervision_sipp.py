"""Listen-in, whisper and barge through the sandbox Asterisk (issue 18): a sipp caller talks to a
sipp operator; a supervisor asks to join, the Stasis app rings the supervisor's sipp phone, which
joins by an ARI snoop on the operator's channel (listen, whisper) or the call's bridge (barge).

How it is heard: every phone's media is the test's own (tests/rtp.py): the caller sends a 600 Hz
tone, the operator 1000 Hz, the supervisor 1700 Hz, each as G.711 RTP from the socket its SDP
names, and keeps what it receives. What each one heard while the supervisor was on the call is
measured per tone (Goertzel amplitude; a tone is sent at 6000): the supervisor hears the caller
and the operator in every mode; the caller hears the supervisor's 1700 Hz only in a barge, the
operator in a whisper and a barge. Barge is the control that the method hears a supervisor at all.
When the caller hangs up, nothing of the supervision is left in Asterisk, the request is done and
audited, and the call log (the app's and the CEL reconciler's) has the one call, as it was."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from crm.supervision.requests import ask
from tests.helpers import make_user, routing_crm
from tests.processes import PbxcrmProcess
from tests.rtp import RtpEnd, remote_of
from tests.telephony import (
    SippPhone,
    ari_get,
    first_invite_time,
    sandbox_cel_database_url,
    sipp_call,
    wait_for,
)

CALLED = "74957654321"
CALLER = "84951234567"  # Ivanova's client (tests/helpers.py routing_crm): her phone, 102, answers
CALLER_HZ, OPERATOR_HZ, SUPERVISOR_HZ = 600, 1000, 1700
HEARD, SILENT = 1000.0, 100.0  # amplitudes: a tone heard (sent at 6000), a tone not there
MEASURE_SECONDS = 3.0


@pytest.fixture
async def people(db):
    crm = await routing_crm(db)
    crm["sergeeva"] = await make_user(db, "sergeeva", "supervisor", full_name="Sofia Sergeeva", extension="105")
    return crm


@pytest.fixture
async def cel_env(database_url, tmp_path):
    """The app reads the sandbox's CEL, from its end now (as tests/test_cel_calls.py does)."""
    env = {"PBXCRM_CEL_DATABASE_URL": sandbox_cel_database_url(), "PBXCRM_CEL_INTERVAL_SECONDS": "1"}
    assert "0 calls added" in _reconcile(database_url, env, tmp_path, "--since", "now", "--grace", "0")
    return env


def _reconcile(database_url: str, env: dict, tmp_path, *args: str) -> str:
    log = tmp_path / f"reconcile-{time.monotonic_ns()}.log"
    proc = PbxcrmProcess(["reconcile", *args], dict(os.environ, DATABASE_URL=database_url, **env), log)
    proc.spawn()
    proc.proc.wait(60)
    proc.stop()
    assert proc.proc.returncode == 0, log.read_text()
    return log.read_text()


async def _talking_call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow(
            """SELECT c.* FROM calls c WHERE c.answered_at IS NOT NULL AND c.ended_at IS NULL
               AND EXISTS (SELECT 1 FROM call_legs l WHERE l.call_id = c.id AND l.ended_at IS NULL)""")


async def _request(db, request_id: int, status: str):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM supervision_requests WHERE id = $1 AND status = $2",
                                   request_id, status)


async def _leftovers() -> list[str]:
    """Supervision channels and bridges still in Asterisk."""
    _, channels = await ari_get("/channels")
    _, bridges = await ari_get("/bridges")
    return [c["id"] for c in channels or [] if c["id"].startswith("sup-")] + \
           [b["id"] for b in bridges or [] if b["id"].startswith("sup-")] + \
           [c for b in bridges or [] for c in b.get("channels", []) if c.startswith("sup-")]


async def _supervised_call(mode: str, people, db, app, tmp_path):
    """A call the supervisor joins in `mode`; what each phone heard while on it: {phone: {hz: amplitude}}."""
    caller, operator, supervisor = RtpEnd(CALLER_HZ), RtpEnd(OPERATOR_HZ), RtpEnd(SUPERVISOR_HZ)
    for end in (caller, operator, supervisor):
        end.start_reading()
    caller_messages = tmp_path / "caller-messages.log"
    try:
        async with SippPhone("102", "phone_media.xml", tmp_path, args=("-key", "rtp_port", str(operator.port))) as op, \
                SippPhone("105", "phone_media.xml", tmp_path, args=("-key", "rtp_port", str(supervisor.port))) as sup:
            call_task = asyncio.create_task(sipp_call(
                caller=CALLER, called=CALLED, talk_ms=10000, scenario="caller_media.xml", timeout=40,
                message_file=caller_messages, keys={"rtp_port": str(caller.port)}))
            call = await wait_for(lambda: _talking_call(db), timeout=15)
            assert call is not None, app.log_text()
            caller.start_sending(await wait_for(lambda: remote_of(caller_messages), timeout=5))
            operator.start_sending(await wait_for(lambda: remote_of(op.messages), timeout=5))
            asked = time.time()
            async with db.acquire() as conn:
                request_id = await ask(conn, people["sergeeva"], call["id"], mode, may_listen=True)
            joined = await wait_for(lambda: _request(db, request_id, "joined"), timeout=10, interval=0.02)
            assert joined, app.log_text()
            rung = first_invite_time(sup.messages)
            assert rung is not None
            print(f"\n{mode}: asked -> the supervisor's phone rings {(rung - asked) * 1000:.0f} ms, "
                  f"-> joined (answered after 300 ms of ringing) {(joined['joined_at'].timestamp() - asked) * 1000:.0f} ms")
            supervisor.start_sending(await wait_for(lambda: remote_of(sup.messages), timeout=5))
            await asyncio.sleep(0.6)  # the supervisor's first packets on their way
            since = time.monotonic()
            await asyncio.sleep(MEASURE_SECONDS)
            until = time.monotonic()
            result = await call_task
            assert result.returncode == 0, result.output + app.log_text()  # the caller hung up itself
            # The app hung the supervisor's phone up when the call ended.
            assert await wait_for(lambda: "BYE sip:" in sup.messages.read_text(), timeout=5), app.log_text()
    finally:
        for end in (caller, operator, supervisor):
            await end.close()
    heard = {name: {hz: round(end.heard(hz, since, until)) for hz in (CALLER_HZ, OPERATOR_HZ, SUPERVISOR_HZ)}
             for name, end in (("caller", caller), ("operator", operator), ("supervisor", supervisor))}
    packets = {name: end.packets(since, until) for name, end in
               (("caller", caller), ("operator", operator), ("supervisor", supervisor))}
    print(f"\n{mode}: amplitudes heard {heard}; RTP packets in {MEASURE_SECONDS} s {packets}")
    return call, request_id, heard, packets


async def _nothing_left_and_the_call_as_it_was(db, database_url, cel_env, tmp_path, app, call, request_id,
                                               people, mode):
    assert await wait_for(lambda: _request(db, request_id, "done"), timeout=10), app.log_text()
    assert await wait_for(lambda: _leftovers_gone(), timeout=5), await _leftovers()
    async with db.acquire() as conn:
        audit = await conn.fetch("SELECT user_id, action, changes FROM audit_log WHERE entity = 'call' "
                                 "AND entity_id = $1 ORDER BY id", call["id"])
        assert [(a["user_id"], a["action"]) for a in audit] == [(people["sergeeva"]["id"], "supervise"),
                                                                (people["sergeeva"]["id"], "supervise end")]
        assert '"supervision": [null, "%s"]' % mode in audit[1]["changes"]
        assert '"result": [null, "done"]' in audit[1]["changes"]
    # The call's own record: one call, one leg (Ivanova's), no row for the supervisor's phone or its snoop,
    # from the app nor from CEL (the reconciler runs in the app every second, and once more here).
    await asyncio.sleep(1.5)
    output = _reconcile(database_url, cel_env, tmp_path, "--grace", "0")
    assert "0 calls added" in output, output
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM calls ORDER BY id")
        legs = await conn.fetch("SELECT user_id FROM call_legs WHERE call_id = $1", call["id"])
    assert [r["id"] for r in rows] == [call["id"]], [dict(r) for r in rows]
    row = rows[0]
    assert row["status"] == "answered" and row["operator_user_id"] == people["ivanova"]["id"]
    assert row["direction"] == "incoming" and row["caller_number"] == CALLER and "from_cel" not in row["route"]
    assert [leg["user_id"] for leg in legs] == [people["ivanova"]["id"]]


async def _leftovers_gone() -> bool:
    return not await _leftovers()


async def test_listen_the_supervisor_hears_both_sides_and_nobody_hears_the_supervisor(
        people, db, database_url, cel_env, start_stasis_app, tmp_path):
    app = await start_stasis_app(**cel_env)
    call, request_id, heard, packets = await _supervised_call("listen", people, db, app, tmp_path)
    assert packets["supervisor"] >= MEASURE_SECONDS * 40, packets  # RTP from the call, 50 a second
    assert heard["supervisor"][CALLER_HZ] > HEARD and heard["supervisor"][OPERATOR_HZ] > HEARD, heard
    assert heard["caller"][OPERATOR_HZ] > HEARD and heard["operator"][CALLER_HZ] > HEARD, heard  # they talk on
    assert heard["caller"][SUPERVISOR_HZ] < SILENT and heard["operator"][SUPERVISOR_HZ] < SILENT, heard
    await _nothing_left_and_the_call_as_it_was(db, database_url, cel_env, tmp_path, app, call, request_id,
                                               people, "listen")


async def test_whisper_only_the_operator_hears_the_supervisor(people, db, database_url, cel_env, start_stasis_app,
                                                                tmp_path):
    app = await start_stasis_app(**cel_env)
    call, request_id, heard, _packets = await _supervised_call("whisper", people, db, app, tmp_path)
    assert heard["supervisor"][CALLER_HZ] > HEARD and heard["supervisor"][OPERATOR_HZ] > HEARD, heard
    assert heard["operator"][SUPERVISOR_HZ] > HEARD and heard["operator"][CALLER_HZ] > HEARD, heard
    assert heard["caller"][SUPERVISOR_HZ] < SILENT and heard["caller"][OPERATOR_HZ] > HEARD, heard
    await _nothing_left_and_the_call_as_it_was(db, database_url, cel_env, tmp_path, app, call, request_id,
                                               people, "whisper")


async def test_barge_everyone_hears_the_supervisor(people, db, database_url, cel_env, start_stasis_app, tmp_path):
    app = await start_stasis_app(**cel_env)
    call, request_id, heard, _packets = await _supervised_call("barge", people, db, app, tmp_path)
    assert heard["supervisor"][CALLER_HZ] > HEARD and heard["supervisor"][OPERATOR_HZ] > HEARD, heard
    assert heard["caller"][SUPERVISOR_HZ] > HEARD and heard["operator"][SUPERVISOR_HZ] > HEARD, heard
    await _nothing_left_and_the_call_as_it_was(db, database_url, cel_env, tmp_path, app, call, request_id,
                                               people, "barge")


async def test_a_supervisor_who_hangs_up_first_leaves_nothing_behind_and_the_call_talks_on(
        people, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    caller, operator, supervisor = RtpEnd(CALLER_HZ), RtpEnd(OPERATOR_HZ), RtpEnd(SUPERVISOR_HZ)
    for end in (caller, operator, supervisor):
        end.start_reading()
    caller_messages = tmp_path / "caller-messages.log"
    try:
        async with SippPhone("102", "phone_media.xml", tmp_path, args=("-key", "rtp_port", str(operator.port))) as op, \
                SippPhone("105", "phone_media_hangup.xml", tmp_path,
                          args=("-key", "rtp_port", str(supervisor.port), "-d", "2000")):
            call_task = asyncio.create_task(sipp_call(
                caller=CALLER, called=CALLED, talk_ms=9000, scenario="caller_media.xml", timeout=40,
                message_file=caller_messages, keys={"rtp_port": str(caller.port)}))
            call = await wait_for(lambda: _talking_call(db), timeout=15)
            assert call is not None, app.log_text()
            caller.start_sending(await wait_for(lambda: remote_of(caller_messages), timeout=5))
            operator.start_sending(await wait_for(lambda: remote_of(op.messages), timeout=5))
            async with db.acquire() as conn:
                request_id = await ask(conn, people["sergeeva"], call["id"], "listen", may_listen=True)
            assert await wait_for(lambda: _request(db, request_id, "joined"), timeout=10), app.log_text()
            # The supervisor's phone hangs up after 2 s: the supervision ends, the call does not.
            assert await wait_for(lambda: _request(db, request_id, "done"), timeout=10), app.log_text()
            assert await wait_for(lambda: _leftovers_gone(), timeout=5), await _leftovers()
            assert await _talking_call(db) is not None, "the call talks on"
            since = time.monotonic()
            await asyncio.sleep(1.5)
            until = time.monotonic()
            assert caller.heard(OPERATOR_HZ, since, until) > HEARD and operator.heard(CALLER_HZ, since, until) > HEARD
            result = await call_task
            assert result.returncode == 0, result.output + app.log_text()
    finally:
        for end in (caller, operator, supervisor):
            await end.close()
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 1
