"""Agent presence in the call flow (issue 18), against the fake ARI (tests/fake_ari.py): a paused
agent is not rung and is once it resumes; an agent in wrap-up is skipped until it ends; the desk
phone's feature codes change the stored state and are confirmed with a sound.
The same with sipp phones through the sandbox: tests/test_agent_calls.py."""

from __future__ import annotations

import asyncio

from crm.agents import queries as agents_q
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    STRANGER,
    bridged,
    ended_row,
    fake,
    no_recording,
    spec,
    start_app,
)
from tests.fast_clock import real_monotonic
from tests.helpers import make_user


async def _change(db, user_id: int, action: str, **kw) -> None:
    async with db.acquire() as conn:
        await agents_q.change(conn, user_id, action, source="api", **kw)


async def _events(db, user_id: int) -> list[str]:
    async with db.acquire() as conn:
        return [r["event"] for r in await agents_q.events_of(conn, user_id)]


async def _a_call_petrov_answers(db, fake) -> None:
    """An unknown caller rings the default queue, Petrov answers, the caller hangs up: a queue call ended."""
    caller = await fake.incoming(STRANGER)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="the caller talks to Petrov")
    await fake.hang_up(caller)
    await ended_row(db, caller)


def _sounds_at_once(monkeypatch) -> None:
    """The fake plays nothing: a feature code's confirmation hangs up at once."""
    import ari_app.agents

    monkeypatch.setattr(ari_app.agents, "SOUND_SECONDS", {})
    monkeypatch.setattr(ari_app.agents, "DEFAULT_SOUND_SECONDS", 0.01)


async def test_a_paused_agent_is_not_rung_and_is_rung_once_it_resumes(db, crm, fake, start_app):
    await no_recording(db)
    await _change(db, crm["petrov"]["id"], "pause", reason_id=1)
    await start_app()
    caller = await fake.incoming(STRANGER)  # an unknown caller: straight to the default queue
    await fake.wait_for(lambda: fake.channels[caller].moh, what="the caller waits in the queue")
    await asyncio.sleep(0.5)
    assert fake.originated("PJSIP/103") == [], "Petrov is paused: his phone does not ring"

    await _change(db, crm["petrov"]["id"], "resume")  # from the web or the phone: a NOTIFY
    leg = (await fake.next_originate("PJSIP/103", timeout=2)).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="the caller talks to Petrov")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert await _events(db, crm["petrov"]["id"]) == ["pause", "resume"]


async def test_a_logged_out_agent_is_skipped_and_the_next_member_is_rung(db, crm, fake, start_app):
    await no_recording(db)
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, 1)",
                           crm["queue"], lebedev["id"])
    await _change(db, crm["petrov"]["id"], "logout", queue_id=crm["queue"])
    await start_app()
    caller = await fake.incoming(STRANGER)
    leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
    assert fake.originated("PJSIP/103") == []
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="the caller talks to Lebedev")
    await fake.hang_up(caller)
    assert (await ended_row(db, caller))["operator_user_id"] == lebedev["id"]


async def test_an_agent_in_wrap_up_is_skipped_until_it_ends(db, crm, fake, start_app):
    await no_recording(db)
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET wrapup_seconds = 2 WHERE id = $1", crm["queue"])
    await start_app()
    await _a_call_petrov_answers(db, fake)
    ended = real_monotonic()

    second = await fake.incoming(STRANGER)
    await fake.wait_for(lambda: fake.channels[second].moh, what="the second caller waits")
    leg = (await fake.next_originate("PJSIP/103", after=1, timeout=5)).query["channelId"]
    waited = real_monotonic() - ended
    assert 1.7 <= waited <= 3.5, f"Petrov rung {waited:.2f} s after his call ended (wrap-up 2 s)"
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, second), what="the second caller talks to Petrov")
    await fake.hang_up(second)
    await ended_row(db, second)
    await fake.wait_for(lambda: True)
    events = await _events(db, crm["petrov"]["id"])
    assert events[:2] == ["wrapup_start", "wrapup_end"], events


async def _feature_code(fake, extension: str, code: str) -> str:
    """A desk phone dials a feature code; the sound the app plays it before hanging up."""
    channel = await fake.incoming(extension, args=["agent", code], line=f"PJSIP/{extension}",
                                  context="pbxcrm-agent-code")
    await fake.wait_for(lambda: channel not in fake.channels or fake.channels[channel].snapshot["state"] == "Down"
                        or fake.calls_to("DELETE", f"/channels/{channel}"), timeout=5, what="the app hangs up")
    plays = fake.calls_to("POST", f"/channels/{channel}/play")
    assert fake.calls_to("POST", f"/channels/{channel}/answer"), "the app answers the phone"
    return plays[0].query["media"] if plays else ""


async def test_feature_codes_from_the_desk_phone_log_in_pause_and_log_out(db, crm, fake, start_app, monkeypatch):
    _sounds_at_once(monkeypatch)
    petrov = crm["petrov"]["id"]
    await start_app()
    assert await _feature_code(fake, "103", "*742") == "sound:beep"
    async with db.acquire() as conn:
        state = await agents_q.state_of(conn, petrov)
        reasons = await agents_q.reason_ids(conn)
    assert state.paused and state.reason_id == reasons[1], "*742: paused with the second reason"
    assert await _feature_code(fake, "103", "*75") == "sound:beep"
    assert await _feature_code(fake, "103", "*73") == "sound:agent-loggedoff"
    async with db.acquire() as conn:
        assert not (await agents_q.state_of(conn, petrov)).logged_in
    # Logged out, a pause cannot be done: the error beep, nothing stored.
    assert await _feature_code(fake, "103", "*74") == "sound:beeperr"
    assert await _feature_code(fake, "103", "*72") == "sound:agent-loginok"
    async with db.acquire() as conn:
        assert (await agents_q.state_of(conn, petrov)).logged_in
        sources = {r["source"] for r in await agents_q.events_of(conn, petrov)}
    assert await _events(db, petrov) == ["pause", "resume", "logout", "login"] and sources == {"phone"}
    # A phone that is no user's, and a reason the list does not have: the error beep.
    assert await _feature_code(fake, "104", "*72") == "sound:beeperr"
    assert await _feature_code(fake, "103", "*749") == "sound:beeperr"
    assert await _events(db, petrov) == ["pause", "resume", "logout", "login"]


async def test_an_agent_ending_its_wrap_up_with_star_76_is_rung_at_once(db, crm, fake, start_app, monkeypatch):
    _sounds_at_once(monkeypatch)
    await no_recording(db)
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET wrapup_seconds = 60 WHERE id = $1", crm["queue"])
    await start_app()
    assert await _feature_code(fake, "103", "*76") == "sound:beeperr", "no wrap-up yet: nothing to end"
    await _a_call_petrov_answers(db, fake)

    second = await fake.incoming(STRANGER)
    await fake.wait_for(lambda: fake.channels[second].moh, what="the second caller waits")
    for _ in range(50):  # the app stores the wrap-up it started
        async with db.acquire() as conn:
            if (await agents_q.state_of(conn, crm["petrov"]["id"])).wrapup_until is not None:
                break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    assert len(fake.originated("PJSIP/103")) == 1, "Petrov is in wrap-up (60 s): not rung"
    ended = real_monotonic()
    assert await _feature_code(fake, "103", "*76") == "sound:beep"
    leg = (await fake.next_originate("PJSIP/103", after=1, timeout=5)).query["channelId"]
    waited = real_monotonic() - ended
    assert waited < 3, f"Petrov rung {waited:.2f} s after *76 (a wrap-up of 60 s)"  # at once, with room for a busy machine
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, second), what="the second caller talks to Petrov")
    await fake.hang_up(second)
    await ended_row(db, second)
    async with db.acquire() as conn:
        events = [(r["event"], r["source"]) for r in await agents_q.events_of(conn, crm["petrov"]["id"])]
    assert events[:2] == [("wrapup_start", "app"), ("wrapup_end", "phone")], events


async def test_star_74n_follows_the_order_the_admin_gave_the_reasons(db, crm, fake, start_app, monkeypatch):
    _sounds_at_once(monkeypatch)
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        lunch, training, after = await agents_q.reason_ids(conn)
        await agents_q.move_reason(conn, admin["id"], after, -2)  # after-call work first, then lunch, training
    await start_app()
    assert await _feature_code(fake, "103", "*741") == "sound:beep"
    async with db.acquire() as conn:
        assert (await agents_q.state_of(conn, crm["petrov"]["id"])).reason_id == after
    assert await _feature_code(fake, "103", "*743") == "sound:beep"
    async with db.acquire() as conn:
        assert (await agents_q.state_of(conn, crm["petrov"]["id"])).reason_id == training
