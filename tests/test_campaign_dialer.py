"""The campaign dialer (issue 22) through the fake ARI: the Stasis app places a running campaign's calls,
bridges the answered ones to a free agent, retries by the rules, never dials a do-not-call number or
outside the calling hours, waits for agents, stops on pause, and follows the AMD verdict."""

from __future__ import annotations

import asyncio
import datetime as dt

from crm.agents import queries as agents_q
from crm.dialing.technology import DESK_AUTO_ANSWER_VARIABLES
from crm.outbound import model
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    bridged,
    fake,
    no_recording,
    spec,
    start_app,
)
from tests.campaign_support import (
    add_dnc,
    attempts,
    campaign_status,
    eventually,
    make_campaign,
    numbers,
    set_status,
)

CLIENT = "+74951234567"  # Sokolov Ivan, Ivanova's client (tests/helpers.py)
OTHER = "+74957654321"
THIRD = "+74959990000"


def trunk(number: str) -> str:
    return f"PJSIP/{number.lstrip('+')}@trunk"


async def _no_originate(fake, endpoint: str, seconds: float = 1.5) -> None:
    await asyncio.sleep(seconds)
    assert not fake.originated(endpoint), f"{endpoint} was dialled"


async def _attempt_outcomes(db, campaign_id: int, n: int):
    rows = await attempts(db, campaign_id)
    return rows if len(rows) >= n and all(r["outcome"] for r in rows[:n]) else None


async def test_an_answered_number_is_bridged_to_a_free_agent_and_logged_once(db, crm, fake, start_app):
    await no_recording(db)
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[CLIENT], caller_id="4957770000")
    await start_app()
    dial = await fake.next_originate(trunk(CLIENT))
    client = dial.query["channelId"]
    [attempt] = await attempts(db, campaign)
    assert client == f"dial-{attempt['id']}" and dial.query["appArgs"] == f"campaign,{attempt['id']}"
    await fake.answer(client)
    agent = await fake.next_originate("PJSIP/102")
    assert agent.query["channelId"] == f"dial-{attempt['id']}-agent"
    assert agent.query["appArgs"] == f"campaign-agent,{attempt['id']}"
    # The client is waiting on the line: the desk phone is told to answer by itself (intercom headers).
    assert agent.body["variables"] == DESK_AUTO_ANSWER_VARIABLES
    await fake.answer(f"dial-{attempt['id']}-agent")
    await fake.wait_for(lambda: bridged(fake, client), what="client and agent bridged")
    await fake.hang_up(client)
    await fake.wait_gone(f"dial-{attempt['id']}-agent")  # the agent's side ends with the client's
    [done] = await eventually(lambda: _attempt_outcomes(db, campaign, 1), what="the attempt's outcome")
    assert done["outcome"] == model.ANSWERED and done["agent_user_id"] == crm["ivanova"]["id"]
    assert done["answered_at"] <= done["bridged_at"] <= done["ended_at"]
    assert (await numbers(db, campaign))[CLIENT]["status"] == "done"
    calls = await eventually(lambda: _calls(db, ended=True), what="the call row")
    assert len(calls) == 1, "one call row per attempt, the agent's leg has none"
    call = calls[0]
    assert call["channel_id"] == client and call["direction"] == "outgoing" and call["status"] == "answered"
    assert call["counterparty_id"] == crm["client"] and call["operator_user_id"] == crm["ivanova"]["id"]
    assert done["call_id"] == call["id"]
    assert await eventually(lambda: _is(db, campaign, "done"), what="the campaign done")


async def _calls(db, *, ended: bool):
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM calls ORDER BY id")
    return rows if rows and (not ended or all(r["ended_at"] for r in rows)) else None


async def _is(db, campaign_id: int, status: str) -> bool:
    return await campaign_status(db, campaign_id) == status


async def test_busy_and_no_answer_are_retried_per_the_rules_then_done(db, crm, fake, start_app):
    await no_recording(db)
    rules = {"busy": {"attempts": 2, "after_minutes": 0}, "no_answer": {"attempts": 1, "after_minutes": 0}}
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[OTHER, THIRD], retry_rules=rules)
    await start_app()
    first = await fake.next_originate(trunk(OTHER))
    await fake.hang_up(first.query["channelId"], 17)  # busy: one more try
    second = await fake.next_originate(trunk(THIRD))
    await fake.hang_up(second.query["channelId"], 19)  # no answer: tried once only
    again = await fake.next_originate(trunk(OTHER), after=1)
    await fake.hang_up(again.query["channelId"], 17)
    rows = await eventually(lambda: _attempt_outcomes(db, campaign, 3), what="three outcomes")
    assert [(r["number"], r["outcome"], r["hangup_cause"]) for r in rows] == [
        (OTHER, "busy", 17), (THIRD, "no_answer", 19), (OTHER, "busy", 17)]
    assert await eventually(lambda: _is(db, campaign, "done"), what="the campaign done")
    listed = await numbers(db, campaign)
    assert (listed[OTHER]["status"], listed[OTHER]["attempts"], listed[OTHER]["last_outcome"]) == ("done", 2, "busy")
    assert (listed[THIRD]["status"], listed[THIRD]["attempts"]) == ("done", 1)
    calls = await eventually(lambda: _calls(db, ended=True), what="the calls")
    assert len(calls) == 3 and all(c["status"] != "answered" for c in calls)


async def test_do_not_call_numbers_are_never_dialled(db, crm, fake, start_app):
    await no_recording(db)
    author = crm["ivanova"]["id"]
    other_campaign = await make_campaign(db, author_id=author, status="draft", name="Other")
    rules = {"busy": {"attempts": 3, "after_minutes": 0}}
    campaign = await make_campaign(db, author_id=author, agents=[author], numbers=[CLIENT, OTHER, THIRD, "12345"],
                                   retry_rules=rules)
    await add_dnc(db, CLIENT)  # everyone's list
    await add_dnc(db, OTHER, campaign)  # this campaign's
    await add_dnc(db, THIRD, other_campaign)  # another campaign's: no bar here
    await start_app()
    dial = await fake.next_originate(trunk(THIRD))
    await add_dnc(db, THIRD)  # listed while its first attempt rings: the retry is not dialled
    await fake.hang_up(dial.query["channelId"], 17)
    await eventually(lambda: _is(db, campaign, "done"), what="the campaign done")
    assert len(fake.originated()) == 1 and not fake.originated(trunk(CLIENT)) and not fake.originated(trunk(OTHER))
    listed = await numbers(db, campaign)
    assert {n: (r["status"], r["skip_reason"]) for n, r in listed.items()} == {
        CLIENT: ("skipped", "dnc"), OTHER: ("skipped", "dnc"), THIRD: ("skipped", "dnc"),
        "12345": ("skipped", "invalid_number")}


async def test_numbers_are_dialled_only_inside_their_calling_hours(db, crm, fake, start_app):
    await no_recording(db)
    hour = dt.datetime.now(dt.timezone.utc).hour
    opens = (hour + 1) % 24
    # UTC is an hour before the window; UTC+1 (Etc/GMT-1) is inside it.
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[(OTHER, "UTC"), (THIRD, "Etc/GMT-1")], hours=(opens, opens + 1))
    await start_app()
    dial = await fake.next_originate(trunk(THIRD))
    await fake.hang_up(dial.query["channelId"], 17)
    await _no_originate(fake, trunk(OTHER), 1.0)
    waiting = (await numbers(db, campaign))[OTHER]
    assert waiting["status"] == "pending" and waiting["next_at"] > dt.datetime.now(dt.timezone.utc)
    assert waiting["next_at"].astimezone(dt.timezone.utc).hour == opens
    assert await campaign_status(db, campaign) == "running"


async def test_a_campaign_s_own_time_zone_is_every_number_s(db, crm, fake, start_app):
    await no_recording(db)
    opens = (dt.datetime.now(dt.timezone.utc).hour + 1) % 24
    # The numbers' own zone (UTC) is an hour before the window; the campaign's (UTC+1) is inside it.
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[(OTHER, "UTC")], hours=(opens, opens + 1))
    async with db.acquire() as conn:
        await conn.execute("UPDATE dial_campaigns SET timezone = 'Etc/GMT-1' WHERE id = $1", campaign)
    await start_app()
    dial = await fake.next_originate(trunk(OTHER), timeout=10)
    await fake.hang_up(dial.query["channelId"], 17)


async def test_a_campaign_with_no_agent_logged_in_does_not_dial(db, crm, fake, start_app):
    await no_recording(db)
    ivanova = crm["ivanova"]["id"]
    async with db.acquire() as conn:
        await agents_q.change(conn, ivanova, "logout", source="web")
    await make_campaign(db, author_id=ivanova, agents=[ivanova], numbers=[OTHER])
    await start_app()
    await _no_originate(fake, trunk(OTHER))
    async with db.acquire() as conn:
        await agents_q.change(conn, ivanova, "login", source="web")  # NOTIFYed: dialled at once
    await fake.next_originate(trunk(OTHER), timeout=3)


async def test_pause_stops_new_dials_and_the_talking_call_goes_on(db, crm, fake, start_app):
    await no_recording(db)
    ivanova = crm["ivanova"]["id"]
    campaign = await make_campaign(db, author_id=ivanova, agents=[ivanova], numbers=[OTHER, THIRD])
    await start_app()
    dial = await fake.next_originate(trunk(OTHER))
    client = dial.query["channelId"]
    await fake.answer(client)
    agent = await fake.next_originate("PJSIP/102")
    await fake.answer(agent.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, client), what="bridged")
    await set_status(db, campaign, "paused")
    await asyncio.sleep(0.3)
    assert client in fake.channels and bridged(fake, client), "the talking call goes on"
    await fake.hang_up(client)
    await _no_originate(fake, trunk(THIRD))
    await set_status(db, campaign, "running")
    await fake.next_originate(trunk(THIRD), timeout=3)


async def test_amd_hangs_up_on_a_machine_and_gives_a_person_to_an_agent(db, crm, fake, start_app):
    await no_recording(db)
    ivanova = crm["ivanova"]["id"]
    campaign = await make_campaign(db, author_id=ivanova, agents=[ivanova], numbers=[OTHER, THIRD], amd=True,
                                   retry_rules={"machine": {"attempts": 1, "after_minutes": 0}})
    await start_app()
    for number, verdict in ((OTHER, "MACHINE,INITIALSILENCE-2500-2500"), (THIRD, "HUMAN,HUMAN-500-500")):
        dial = await fake.next_originate(trunk(number))
        client = dial.query["channelId"]
        attempt_id = int(client.removeprefix("dial-"))
        await fake.answer(client)
        await fake.wait_for(lambda c=client: c in fake.continued, what="sent to AMD")
        assert fake.continued[client]["context"] == "pbxcrm-campaign-amd"
        chan = fake.channels[client]
        assert chan.variables["PBXCRM_AMD"] == model.amd_arguments(model.amd_settings({}))
        assert chan.variables["PBXCRM_ATTEMPT"] == str(attempt_id)
        # The dialplan's AMD() done: back into the app with its verdict.
        fake._enter_stasis(chan, f"campaign-amd,{attempt_id},{verdict}", context="pbxcrm-campaign-amd", exten="s")
        if number == OTHER:
            await fake.wait_gone(client)  # a machine: hung up, no agent rung
            assert not fake.originated("PJSIP/102")
    agent = await fake.next_originate("PJSIP/102")
    await fake.answer(agent.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, client), what="the person bridged to the agent")
    await fake.hang_up(client)
    rows = await eventually(lambda: _attempt_outcomes(db, campaign, 2), what="both outcomes")
    assert [(r["number"], r["outcome"], r["amd_status"]) for r in rows] == [
        (OTHER, "machine", "MACHINE"), (THIRD, "answered", "HUMAN")]
    assert rows[0]["amd_cause"] == "INITIALSILENCE-2500-2500"


async def test_an_answered_call_with_no_free_agent_in_time_is_dropped(db, crm, fake, start_app):
    await no_recording(db)
    ivanova = crm["ivanova"]["id"]
    campaign = await make_campaign(db, author_id=ivanova, agents=[ivanova], numbers=[OTHER])
    await start_app()
    dial = await fake.next_originate(trunk(OTHER))
    client = dial.query["channelId"]
    await fake.device_state("102", "INUSE")  # the agent took a call of its own meanwhile
    await fake.answer(client)
    await fake.wait_request("POST", f"/channels/{client}/play", timeout=4)  # "nobody is available"
    await fake.wait_gone(client, timeout=6)
    assert not fake.originated("PJSIP/102")
    [row] = await eventually(lambda: _attempt_outcomes(db, campaign, 1), what="the outcome")
    assert row["outcome"] == "dropped" and row["answered_at"] is not None and row["bridged_at"] is None


async def test_cancelling_hangs_up_the_ringing_calls(db, crm, fake, start_app):
    await no_recording(db)
    ivanova = crm["ivanova"]["id"]
    campaign = await make_campaign(db, author_id=ivanova, agents=[ivanova], numbers=[OTHER, THIRD])
    await start_app()
    dial = await fake.next_originate(trunk(OTHER))
    await set_status(db, campaign, "cancelled")
    await fake.wait_gone(dial.query["channelId"])
    [row] = await eventually(lambda: _attempt_outcomes(db, campaign, 1), what="the outcome")
    assert row["outcome"] == "cancelled"
    await _no_originate(fake, trunk(THIRD), 1.0)


async def test_a_ringing_call_whose_end_was_missed_is_ended_as_failed(db, crm, fake, start_app, monkeypatch):
    from ari_app.campaigns import service

    monkeypatch.setattr(service, "LOST_AFTER_SECONDS", -10.0)  # asked about at once
    monkeypatch.setattr(service, "LEASE_EVERY_SECONDS", 0.3)
    await no_recording(db)
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[OTHER], ring_seconds=10)
    await start_app()
    dial = await fake.next_originate(trunk(OTHER))
    fake.channels.pop(dial.query["channelId"])  # gone from Asterisk, its ChannelDestroyed never came

    async def ended():
        rows = await attempts(db, campaign)
        return rows if rows and rows[0]["outcome"] else None

    [row, *_] = await eventually(ended, timeout=10, what="the lost attempt ended")
    assert row["outcome"] == "failed"
    assert any(r.method == "GET" and r.path == f"/channels/{dial.query['channelId']}" for r in fake.requests)
