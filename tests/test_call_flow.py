"""The call flow without sipp: the Stasis app (`ari_app.app.run`) against a fake ARI
that follows Asterisk's Swagger documents (tests/fake_ari.py), with the real test database.

Each test plays one path of an incoming call: the people (caller, phones) are the
fake's `incoming`, `answer`, `hang_up`; the app is seen only through the ARI
requests it makes and the rows it writes. The sipp tests stay the end-to-end
proof; these run in milliseconds (tests.fast_clock where the app waits whole seconds).
More in test_call_flow_recovery.py (database, reconnects, restarts) and
test_call_flow_placed.py (click-to-call, outbound, internal).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    Pops,
    bridged,
    count,
    ended_row,
    fake,
    in_order,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.fast_clock import fast_clock
from tests.helpers import make_user

# ---- the manager answers ----

async def test_known_client_rings_the_manager_who_talks_until_the_caller_hangs_up(db, crm, fake, start_app,
                                                                                  database_url):
    pops = await Pops().listen(database_url)
    app = await start_app()
    caller = await fake.incoming(CLIENT)

    dial = await fake.next_originate("PJSIP/102")
    leg = dial.query["channelId"]
    assert dial.query["callerId"] == f'"Sokolov Ivan" <{CLIENT}>'
    assert dial.query["appArgs"] == f"dialed,{caller}" and dial.query["app"] == "pbxcrm"
    assert dial.query["timeout"] == "3" and dial.query["originator"] == caller
    await fake.wait_for(lambda: fake.channels[caller].ringing, what="ringback while the manager's phone rings")

    await fake.answer(leg)
    bridge = f"pbxcrm-{caller}"
    await fake.wait_for(lambda: fake.bridges.get(bridge, {}).get("channels") == [caller, leg] and fake.live,
                        what="caller and manager bridged and recorded")
    assert fake.channels[caller].snapshot["state"] == "Up" and not fake.channels[caller].ringing
    await fake.hang_up(caller)

    row = await ended_row(db, caller)
    assert (await fake.wait_gone(leg))["cause"] == 16, "the app hangs up the manager's phone"
    await fake.wait_for(lambda: bridge not in fake.bridges, what="bridge destroyed")
    assert in_order(fake.commands(caller, leg, bridge), [
        "POST /channels", f"DELETE /channels/{caller}/ring",
        f"POST /channels/{caller}/answer", "POST /bridges", f"POST /bridges/{bridge}/addChannel",
        f"POST /bridges/{bridge}/record", f"DELETE /channels/{leg}", f"DELETE /bridges/{bridge}"])
    assert fake.calls_to("POST", "/applications/pbxcrm/subscription")[-1].query == {"eventSource": f"channel:{caller}"}
    assert row["status"] == "answered" and row["direction"] == "incoming"
    assert row["operator_user_id"] == crm["ivanova"]["id"] and row["counterparty_id"] == crm["client"]
    # answered_at is the app's clock, started_at and ended_at Asterisk's, in whole milliseconds.
    ms = dt.timedelta(milliseconds=1)
    assert row["started_at"] <= row["answered_at"] + ms and row["answered_at"] <= row["ended_at"] + ms
    assert row["hangup_cause"] == 16
    assert route(row) == [("manager", "manager Irina Ivanova", "answered")]
    assert await count(db, "SELECT count(*) FROM calls") == 1, "the phone's leg has no row of its own"

    await app.stop()  # waits for the recording to be fetched, converted and linked
    recording = fake.calls_to("POST", f"/bridges/{bridge}/record")[0].query["name"]
    assert fake.calls_to("DELETE", f"/recordings/stored/{recording}"), "Asterisk's copy deleted"
    async with db.acquire() as conn:
        stored = await conn.fetchrow("SELECT * FROM recordings WHERE call_id = $1", row["id"])
    assert stored is not None and stored["path"] and stored["error"] is None
    await asyncio.sleep(0.05)
    await pops.close()
    assert (crm["ivanova"]["id"], "ringing") in pops.seen and (crm["ivanova"]["id"], "answered") in pops.seen


async def test_the_manager_hangs_up_first_and_the_app_ends_the_callers_side(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller = await fake.incoming(CLIENT)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    await fake.answer(leg)
    bridge = f"pbxcrm-{caller}"
    await fake.wait_for(lambda: len(fake.bridges.get(bridge, {}).get("channels", ())) == 2, what="bridged")
    await fake.hang_up(leg)

    assert (await fake.wait_gone(caller))["cause"] == 16, "the app hangs up the caller"
    row = await ended_row(db, caller)
    await fake.wait_for(lambda: bridge not in fake.bridges, what="bridge destroyed")
    assert not fake.calls_to("POST", f"/bridges/{bridge}/record"), "policy 'none': nothing recorded"
    assert row["status"] == "answered" and row["operator_user_id"] == crm["ivanova"]["id"]


# ---- the manager cannot take it: the queue ----

async def test_a_busy_manager_sends_the_call_to_the_queue_where_the_first_to_answer_wins(db, crm, fake, start_app):
    await no_recording(db)
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    await start_app()
    caller = await fake.incoming(CLIENT)
    manager_leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    await fake.hang_up(manager_leg, cause=17)  # the phone answers busy

    petrov_leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    lebedev_leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
    assert fake.channels[caller].moh and fake.channels[caller].snapshot["state"] == "Up", \
        "the caller waits in the queue with music"
    assert fake.calls_to("POST", f"/channels/{caller}/moh")[0].query == {"mohClass": "default"}

    waiting = None
    for _ in range(50):  # what the wallboard reads (issue 18), written off the call path
        async with db.acquire() as conn:
            waiting = await conn.fetchrow(
                "SELECT queued_at, queue_id, ringing_user_ids FROM calls WHERE channel_id = $1", caller)
        if waiting and waiting["queued_at"] and len(waiting["ringing_user_ids"]) == 2:
            break
        await asyncio.sleep(0.05)
    assert waiting and waiting["queue_id"] == crm["queue"], "the caller waits in the queue, both phones ring"
    assert set(waiting["ringing_user_ids"]) == {crm["petrov"]["id"], lebedev["id"]}
    await fake.answer(lebedev_leg)

    assert (await fake.wait_gone(petrov_leg))["cause"] == 16, "the other queue phone stops ringing"
    await fake.wait_for(lambda: fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels") == [caller, lebedev_leg],
                        what="bridged with the queue member")
    assert not fake.channels[caller].moh
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and row["operator_user_id"] == lebedev["id"] and row["queue_id"] == crm["queue"]
    assert route(row) == [("manager", "manager Irina Ivanova", "was busy"),
                          ("queue", "queue Default", "answered by Oleg Lebedev after 0 s")]


async def test_a_manager_who_does_not_answer_in_the_ring_time_loses_the_call_to_the_queue(db, crm, fake, start_app):
    await no_recording(db)
    with fast_clock(asyncio.get_running_loop(), 30):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        manager_leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
        # Nobody picks up: after the originate's 3 s Asterisk gives up on the phone (cause 19).
        assert (await fake.wait_gone(manager_leg, timeout=6))["cause"] == 19
        petrov_leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
        await fake.answer(petrov_leg)
        await fake.wait_for(lambda: bridged(fake, caller),
                            what="bridged")
        await fake.hang_up(petrov_leg)
        row = await ended_row(db, caller, steps=2)
        await app.stop()
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert route(row)[0] == ("manager", "manager Irina Ivanova", "did not answer in 3 s")


async def test_nobody_answering_in_the_queues_longest_wait_offers_a_callback_and_a_caller_who_leaves_is_missed(
        db, crm, fake, start_app):
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2 WHERE id = $1", crm["queue"])
    with fast_clock(asyncio.get_running_loop(), 30):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await fake.hang_up((await fake.next_originate("PJSIP/102")).query["channelId"], cause=17)
        # Petrov's phone rings twice, 2 s each time, and is never picked up.
        await fake.next_originate("PJSIP/103", after=1, timeout=6)
        play = await fake.wait_request("POST", f"/channels/{caller}/play", timeout=8)
        # No hang-up any more: the offer (tests/test_call_flow_offer.py); this caller leaves during it.
        assert (play.query["media"], play.query["lang"]) == ("sound:vm-nobodyavail,sound:vm-tocallnum", "en")
        await fake.hang_up(caller)
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert row["status"] == "missed" and row["answered_at"] is None and row["operator_user_id"] is None
    assert route(row) == [("manager", "manager Irina Ivanova", "was busy"),
                          ("queue", "queue Default", "nobody answered in 5 s"),
                          ("note", "", "the caller hung up during the offer")]
    async with db.acquire() as conn:
        task = await conn.fetchrow("SELECT * FROM tasks WHERE call_id = $1", row["id"])
    assert task is not None and task["responsible_user_id"] == crm["ivanova"]["id"]
    assert task["title"] == "Call back Sokolov Ivan"


async def test_an_unreachable_queue_is_waited_on_until_the_caller_gives_up(db, crm, fake, start_app):
    fake.add_phone("103", "offline")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app()
        caller = await fake.incoming(STRANGER)
        await fake.wait_for(lambda: fake.channels[caller].moh, what="music")
        await fake.wait_request("GET", "/endpoints/PJSIP/103")
        await asyncio.sleep(2.5)  # a round of waiting for a free phone
        await fake.hang_up(caller)
        row = await ended_row(db, caller)
        await app.stop()
    assert not fake.originated(), "an unreachable phone is not rung"
    assert row["status"] == "missed" and route(row)[0][:2] == ("queue", "queue Default")
    assert route(row)[0][2].startswith("caller hung up after")


async def test_the_caller_hanging_up_while_the_manager_rings_is_a_missed_call(db, crm, fake, start_app):
    await start_app()
    caller = await fake.incoming(CLIENT)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    await fake.hang_up(caller)
    assert (await fake.wait_gone(leg))["cause"] == 16, "the manager's phone stops ringing"
    row = await ended_row(db, caller)
    assert row["status"] == "missed" and row["hangup_cause"] == 16
    assert route(row) == [("manager", "manager Irina Ivanova", "was ringing when the caller hung up")]
    assert not fake.originated("PJSIP/103"), "the queue is not tried for a caller who left"
    assert not fake.calls_to("POST", "/bridges")


async def test_an_unknown_caller_goes_to_the_default_queue(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller = await fake.incoming(STRANGER, caller_name="Somebody")
    dial = await fake.next_originate("PJSIP/103")
    assert dial.query["callerId"] == STRANGER and not fake.originated("PJSIP/102")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller),
                        what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["status"] == "answered" and row["counterparty_id"] is None and row["caller_name"] == "Somebody"
    assert route(row) == [("queue", "queue Default", "answered by Pavel Petrov after 0 s")]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT route->0->>'reason' FROM calls WHERE id = $1", row["id"]) == "unknown caller"


async def test_the_caller_hanging_up_in_the_queue_stops_its_phones(db, crm, fake, start_app):
    await start_app()
    caller = await fake.incoming(STRANGER)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.hang_up(caller)
    await fake.wait_gone(leg)
    row = await ended_row(db, caller)
    assert row["status"] == "missed" and route(row)[0][2] == "caller hung up after 0 s"
    # Its callback task, held by the queue: tests/test_stranger_callbacks.py.


async def test_a_manager_on_another_call_is_skipped_and_a_round_robin_queue_rings_one_phone_at_a_time(
        db, crm, fake, start_app):
    await no_recording(db)
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'roundrobin' WHERE id = $1", crm["queue"])
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    await start_app()
    await fake.device_state("102", "INUSE")  # Ivanova is on a call the app did not place
    await asyncio.sleep(0.02)
    caller = await fake.incoming(CLIENT)
    first = await fake.next_originate(None)
    await fake.wait_for(lambda: first.query["channelId"] in fake.channels, what="the first phone's channel")
    assert len(fake.originated()) == 1, "round robin rings one phone"
    await fake.hang_up(first.query["channelId"], cause=21)  # rejected
    second = await fake.next_originate(None, after=1)
    assert second.query["endpoint"] != first.query["endpoint"], "the next phone in turn"
    await fake.answer(second.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller),
                        what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert not fake.originated("PJSIP/102")
    assert route(row)[0] == ("manager", "manager Irina Ivanova", "is busy on another call")
    assert row["status"] == "answered" and row["queue_id"] == crm["queue"]


async def test_a_phone_that_answers_while_the_others_are_still_dialled_is_connected_at_once(db, crm, fake,
                                                                                           start_app):
    await no_recording(db)
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    fake.slow_originate["PJSIP/104"] = 0.05  # Asterisk takes a moment to set up the second phone's channel
    app = await start_app()
    caller = await fake.incoming(STRANGER)
    await fake.answer((await fake.next_originate("PJSIP/103")).query["channelId"])
    try:
        await fake.wait_for(lambda: bridged(fake, caller),
                            timeout=0.2, what="bridged with the phone that answered")
    finally:
        await fake.hang_up(caller)
        await app.stop()


async def test_a_phone_that_hangs_up_before_the_bridge_is_made_does_not_strand_the_caller(db, crm, fake, start_app):
    await no_recording(db)
    app = await start_app()
    caller = await fake.incoming(STRANGER)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.hang_up(leg)  # picked up and put down at once
    try:
        await fake.wait_for(lambda: caller not in fake.channels or len(fake.originated("PJSIP/103")) > 1,
                            timeout=0.2, what="the caller hung up or rung through again")
        await fake.wait_for(lambda: f"pbxcrm-{caller}" not in fake.bridges, timeout=0.2, what="no bridge left over")
    finally:
        if caller in fake.channels:
            await fake.hang_up(caller)
        await app.stop()


async def test_a_clients_queue_made_after_the_last_refresh_is_passed_over_for_the_default_queue(db, crm, fake,
                                                                                                 start_app):
    await no_recording(db)
    await start_app()
    async with db.acquire() as conn:  # a queue the app has not read yet (it reads them every few seconds)
        vip = await conn.fetchval("INSERT INTO queues (name) VALUES ('VIP') RETURNING id")
        await conn.execute("UPDATE counterparties SET queue_id = $1 WHERE id = $2", vip, crm["client"])
    caller = await fake.incoming(CLIENT)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [("queue", "queue VIP", "does not exist any more"),
                          ("queue", "queue Default", "answered by Pavel Petrov after 0 s")]
