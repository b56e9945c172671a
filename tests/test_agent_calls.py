"""Agent presence for real (issue 18): sipp phones as agents through the sandbox Asterisk.

Feature codes dialled from a sipp phone (*72 log in, *73 log out, *74N pause, *75 resume, *76 end
wrap-up) change the stored state; a paused agent is not rung and is once it resumes; an agent in
wrap-up is skipped until it ends, or until it ends the wrap-up itself. The paths in detail, in milliseconds: tests/test_call_flow_agents.py."""

import asyncio

from crm.agents import queries as agents_q
from tests.helpers import finished_call
from tests.telephony import SippPhone, sipp_call, wait_for

CALLED = "74957654321"


async def _dial(code: str, app) -> None:
    """Petrov's desk phone (103) dials a feature code; the app answers, confirms and hangs up."""
    result = await sipp_call(caller="103", called=code, scenario="caller_hungup.xml", timeout=15)
    assert result.returncode == 0, result.output + app.log_text()


async def _state(db, user_id: int):
    async with db.acquire() as conn:
        return await agents_q.state_of(conn, user_id)


async def test_feature_codes_from_a_sipp_phone_log_in_pause_and_log_out(crm, db, start_stasis_app):
    petrov = crm["petrov"]["id"]
    app = await start_stasis_app()
    await _dial("*742", app)
    state = await _state(db, petrov)
    async with db.acquire() as conn:
        training = (await agents_q.reason_ids(conn))[1]
    assert state.paused and state.reason_id == training, app.log_text()
    await _dial("*73", app)
    assert not (await _state(db, petrov)).logged_in
    await _dial("*72", app)
    assert (await _state(db, petrov)).logged_in
    async with db.acquire() as conn:
        events = [(r["event"], r["source"]) for r in await agents_q.events_of(conn, petrov)]
        calls = await conn.fetchval("SELECT count(*) FROM calls")
    assert events == [("pause", "phone"), ("resume", "phone"), ("logout", "phone"), ("login", "phone")]
    assert calls == 0, "a feature code is no call in the call log"


async def test_a_paused_agent_is_not_rung_until_it_resumes_then_wrap_up_skips_it(crm, db, start_stasis_app,
                                                                                 tmp_path):
    petrov = crm["petrov"]["id"]
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET wrapup_seconds = 3 WHERE id = $1", crm["queue"])
    app = await start_stasis_app()
    await _dial("*74", app)
    assert (await _state(db, petrov)).paused
    async with SippPhone("103", "phone_answer.xml", tmp_path) as phone:
        # An unknown caller waits in the default queue, whose only agent is paused.
        # The queue answers the caller at once (music): sipp's talk time counts from then.
        first = asyncio.create_task(sipp_call(caller="89031112233", called=CALLED, talk_ms=8000, timeout=40))
        await asyncio.sleep(3)
        assert phone.invites() == [], "a paused agent is not rung"
        await _dial("*75", app)
        assert await phone.wait_for_invite(timeout=5), app.log_text()
        assert (await first).returncode == 0, app.log_text()
        row = await wait_for(lambda: finished_call(db, "89031112233"))
        assert row["status"] == "answered" and row["operator_user_id"] == petrov
        assert row["wait_seconds"] >= 3

        # Wrap-up: the next caller waits about 3 s after Petrov's call ended before his phone rings.
        second = await sipp_call(caller="89032223344", called=CALLED, talk_ms=6000, timeout=40)
        assert second.returncode == 0, second.output + app.log_text()
        assert len(phone.invites()) == 2
    row2 = await wait_for(lambda: finished_call(db, "89032223344"))
    assert row2["operator_user_id"] == petrov
    gap = (row2["answered_at"] - row["ended_at"]).total_seconds()
    assert 2.5 <= gap <= 6, f"Petrov answered the next caller {gap:.1f} s after his call (wrap-up 3 s)"
    async with db.acquire() as conn:
        events = [r["event"] for r in await agents_q.events_of(conn, petrov)]
    assert events[:3] == ["pause", "resume", "wrapup_start"] and "wrapup_end" in events, events


async def test_an_agent_ends_its_wrap_up_with_star_76_and_is_rung_at_once(crm, db, start_stasis_app, tmp_path):
    petrov = crm["petrov"]["id"]
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET wrapup_seconds = 60 WHERE id = $1", crm["queue"])
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer.xml", tmp_path) as phone:
        first = await sipp_call(caller="89034445566", called=CALLED, talk_ms=2000, timeout=20)
        assert first.returncode == 0, first.output + app.log_text()
        assert await wait_for(lambda: _state_has_wrapup(db, petrov)), app.log_text()
        second = asyncio.create_task(sipp_call(caller="89035556677", called=CALLED, talk_ms=6000, timeout=40))
        await asyncio.sleep(3)
        assert len(phone.invites()) == 1, "Petrov is in wrap-up (60 s): not rung"
        await _dial("*76", app)
        assert await wait_for(lambda: len(phone.invites()) == 2, timeout=3), app.log_text()
        assert (await second).returncode == 0, app.log_text()
    row = await wait_for(lambda: finished_call(db, "89035556677"))
    assert row["status"] == "answered" and row["operator_user_id"] == petrov
    async with db.acquire() as conn:
        events = [(r["event"], r["source"]) for r in await agents_q.events_of(conn, petrov)]
    assert events[:2] == [("wrapup_start", "app"), ("wrapup_end", "phone")], events


async def _state_has_wrapup(db, user_id: int) -> bool:
    return (await _state(db, user_id)).wrapup_until is not None
