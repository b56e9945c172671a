"""Transfers through the fake ARI (see test_call_flow.py): a desk phone's REFER arrives as
ChannelTransfer (tests/fake_ari.py `refer`, as Asterisk 22's res_pjsip_refer sends it with
PJSIP_TRANSFER_HANDLING=ari-only), and the web's requests by NOTIFY. The caller stays in the
call's bridge throughout; the call keeps every operator who talked (call_legs)."""

from __future__ import annotations

import asyncio

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
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


async def _lebedev(db, crm, *, in_queue: bool = False):
    user = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    if in_queue:
        async with db.acquire() as conn:
            await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], user["id"])
    return user


async def _talking_to_ivanova(fake) -> tuple[str, str]:
    """The client calls; Ivanova's phone rings, marked to hand its transfers to the app, and she answers."""
    caller = await fake.incoming(CLIENT)
    dial = await fake.next_originate("PJSIP/102")
    assert dial.body == {"variables": {"PJSIP_TRANSFER_HANDLING()": "ari-only"}}
    leg = dial.query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="caller and Ivanova bridged")
    return caller, leg


async def _legs(db, call_id: int) -> list[tuple]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM call_legs WHERE call_id = $1 ORDER BY position", call_id)
    return [(r["position"], r["user_id"], r["name"], r["how"], r["transferred_by"]) for r in rows], rows


async def test_a_blind_transfer_from_the_phone_to_an_extension_keeps_the_caller_in_its_recorded_bridge(
        db, crm, fake, start_app, database_url):
    lebedev = await _lebedev(db, crm)
    pops = await Pops().listen(database_url)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    bridge = f"pbxcrm-{caller}"
    await fake.wait_for(lambda: fake.live, what="the bridge recorded")

    await fake.refer(leg, "104")
    # The phone is told it went through, and leaves the bridge; the caller hears music meanwhile.
    await fake.wait_for(lambda: (leg, "channel_answered") in fake.transfer_progress, what="NOTIFY 200 to the phone")
    assert fake.channels[leg].bridge is None
    await fake.wait_for(lambda: fake.bridge_moh.get(bridge) == "default", what="music to the bridge")
    await fake.hang_up(leg)  # as a desk phone does after the final NOTIFY
    dial = await fake.next_originate("PJSIP/104")
    assert dial.query["appArgs"] == f"dialed,{caller}" and dial.query["callerId"] == f'"Sokolov Ivan" <{CLIENT}>'
    assert fake.channels[caller].bridge == bridge, "the caller never left its bridge"
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: fake.bridges[bridge]["channels"] == [caller, dial.query["channelId"]],
                        what="Lebedev joins the caller")
    assert fake.bridge_moh[bridge] is None, "the music stops"
    await asyncio.sleep(0.05)
    await fake.hang_up(caller)

    row = await ended_row(db, caller, steps=2)
    await app.stop()
    assert len(fake.calls_to("POST", f"/bridges/{bridge}/record")) == 1, "one recording for the whole call"
    assert in_order(fake.commands(caller, leg, bridge), [
        f"POST /bridges/{bridge}/record", f"POST /bridges/{bridge}/removeChannel",
        f"POST /channels/{leg}/transfer_progress", f"POST /bridges/{bridge}/moh", "POST /channels",
        f"DELETE /bridges/{bridge}/moh", f"POST /bridges/{bridge}/addChannel", f"DELETE /bridges/{bridge}"])
    assert row["status"] == "answered" and row["operator_user_id"] == crm["ivanova"]["id"], "the first who answered"
    assert route(row) == [("manager", "manager Irina Ivanova", "answered"),
                          ("user", "transferred by Irina Ivanova to Oleg Lebedev", "answered")]
    legs, rows = await _legs(db, row["id"])
    assert legs == [(1, crm["ivanova"]["id"], "Irina Ivanova", "answered", None),
                    (2, lebedev["id"], "Oleg Lebedev", "blind", crm["ivanova"]["id"])]
    assert all(r["ended_at"] is not None and r["talk_seconds"] >= 0 for r in rows)
    assert rows[0]["ended_at"] <= rows[1]["answered_at"]
    await asyncio.sleep(0.05)
    await pops.close()
    assert (crm["ivanova"]["id"], "transferred") in pops.seen
    assert (lebedev["id"], "ringing") in pops.seen and (lebedev["id"], "answered") in pops.seen


async def test_a_blind_transfer_to_a_number_goes_out_through_the_trunk(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    await fake.refer(leg, "84951112233")
    dial = await fake.next_originate("PJSIP/84951112233@trunk")
    await fake.hang_up(leg)
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, dial.query["channelId"]],
                        what="the number joins the caller")
    await fake.hang_up(dial.query["channelId"])  # the far end hangs up: the app ends the caller's side
    assert (await fake.wait_gone(caller))["cause"] == 16
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1] == ("transfer", "transferred by Irina Ivanova to 84951112233", "answered")
    legs, _ = await _legs(db, row["id"])
    assert legs[1] == (2, None, "84951112233", "blind", crm["ivanova"]["id"])


async def test_a_transfer_nobody_takes_rings_the_transferer_back_then_the_default_queue(db, crm, fake, start_app):
    await no_recording(db)
    await _lebedev(db, crm)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller, leg = await _talking_to_ivanova(fake)
        await fake.refer(leg, "104")
        await fake.wait_for(lambda: (leg, "channel_answered") in fake.transfer_progress, what="NOTIFY 200")
        await fake.hang_up(leg)
        # Lebedev does not answer in the manager's ring time (3 s), Ivanova not either: the queue's Petrov does.
        lebedev_leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
        assert (await fake.wait_gone(lebedev_leg, timeout=6))["cause"] == 19
        back = (await fake.next_originate("PJSIP/102", after=1, timeout=6)).query["channelId"]
        assert (await fake.wait_gone(back, timeout=6))["cause"] == 19
        petrov_leg = (await fake.next_originate("PJSIP/103", timeout=6)).query["channelId"]
        assert fake.channels[caller].bridge == f"pbxcrm-{caller}", "still in its bridge, with music"
        await fake.answer(petrov_leg)
        await fake.wait_for(lambda: bridged(fake, caller), what="Petrov talks to the caller")
        await fake.hang_up(caller)
        row = await ended_row(db, caller, steps=4)
        await app.stop()
    assert route(row)[1:3] == [("user", "transferred by Irina Ivanova to Oleg Lebedev", "did not answer in 3 s"),
                               ("user", "back to Irina Ivanova", "did not answer in 3 s")]
    assert route(row)[3][:2] == ("queue", "queue Default")
    assert route(row)[3][2].startswith("answered by Pavel Petrov after")  # 0 or 1 s on the fast clock
    legs, _ = await _legs(db, row["id"])
    assert [(p, u, how) for p, u, _, how, _ in legs] == [(1, crm["ivanova"]["id"], "answered"),
                                                         (2, crm["petrov"]["id"], "blind")]


async def test_a_transfer_nobody_takes_at_all_leaves_the_bridge_for_the_offer_and_the_caller_is_never_dropped(
        db, crm, fake, start_app):
    await no_recording(db)
    await _lebedev(db, crm)
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2 WHERE id = $1", crm["queue"])
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller, leg = await _talking_to_ivanova(fake)
        await fake.refer(leg, "104")
        await fake.wait_for(lambda: (leg, "channel_answered") in fake.transfer_progress, what="NOTIFY 200")
        await fake.hang_up(leg)
        await fake.next_originate("PJSIP/104")
        await fake.next_originate("PJSIP/102", after=1, timeout=6)  # back to Ivanova
        await fake.next_originate("PJSIP/103", timeout=8)  # the default queue's Petrov
        play = await fake.wait_request("POST", f"/channels/{caller}/play", timeout=12)
        assert play.query["media"].startswith("sound:vm-nobodyavail"), "the offer, as any call nobody answered"
        assert fake.channels[caller].bridge is None, "the caller left the bridge for the offer"
        assert caller in fake.channels, "and is still there"
        await fake.hang_up(caller)
        row = await ended_row(db, caller, steps=5)
        await app.stop()
    assert [step[:2] for step in route(row)[1:]] == [
        ("user", "transferred by Irina Ivanova to Oleg Lebedev"), ("user", "back to Irina Ivanova"),
        ("queue", "queue Default"), ("note", "")]
    assert route(row)[-1][2] == "the caller hung up during the offer"
    legs, rows = await _legs(db, row["id"])
    assert [(u, how) for _, u, _, how, _ in legs] == [(crm["ivanova"]["id"], "answered")]
    assert rows[0]["ended_at"] is not None


async def test_a_transfer_to_an_extension_nobody_has_is_refused_and_the_call_stays(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    await fake.refer(leg, "999")
    await fake.wait_for(lambda: (leg, "channel_declined") in fake.transfer_progress, what="NOTIFY 603 to the phone")
    await asyncio.sleep(0.05)
    assert fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, leg], "Ivanova keeps the call"
    assert len(fake.originated()) == 1
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1] == ("transfer", "transfer by Irina Ivanova to 999",
                             "refused: no user has that extension and it is no number")


async def _consultation(fake, phone: str, target: str) -> tuple[str, str]:
    """The transferer's phone puts the caller on hold and calls `target`, who answers."""
    consult = await fake.incoming(phone, args=["internal", target], line=f"PJSIP/{phone}")
    dial = await fake.next_originate(f"PJSIP/{target}")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, consult), what="consultation bridged")
    assert fake.channels[consult].transfers_to_app, "the consultation's REFER comes to the app too"
    return consult, dial.query["channelId"]


async def test_an_attended_transfer_puts_the_consulted_operator_in_the_callers_bridge(db, crm, fake, start_app,
                                                                                     database_url):
    lebedev = await _lebedev(db, crm)
    pops = await Pops().listen(database_url)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    consult, lebedev_leg = await _consultation(fake, "102", "104")

    await fake.refer(leg, "104", replaces=consult)  # REFER on the held call, Replaces: the consultation
    bridge = f"pbxcrm-{caller}"
    await fake.wait_for(lambda: fake.bridges[bridge]["channels"] == [caller, lebedev_leg],
                        what="Lebedev in the caller's bridge")
    await fake.wait_for(lambda: (leg, "channel_answered") in fake.transfer_progress, what="NOTIFY 200")
    assert (await fake.wait_gone(consult))["cause"] == 16, "the consultation's own channel is hung up"
    await fake.wait_for(lambda: f"pbxcrm-{consult}" not in fake.bridges, what="consultation bridge destroyed")
    assert lebedev_leg in fake.channels, "the consulted phone goes on talking"
    await fake.hang_up(leg)
    await asyncio.sleep(0.05)
    assert fake.bridges[bridge]["channels"] == [caller, lebedev_leg]
    await fake.hang_up(caller)
    assert (await fake.wait_gone(lebedev_leg))["cause"] == 16, "the app ends Lebedev's side"

    row = await ended_row(db, caller, steps=2)
    consultation_row = await ended_row(db, consult)
    await app.stop()
    assert route(row) == [("manager", "manager Irina Ivanova", "answered"),
                          ("transfer", "transferred by Irina Ivanova to Oleg Lebedev after a consultation",
                           "connected")]
    legs, _ = await _legs(db, row["id"])
    assert [(p, u, how, by) for p, u, _, how, by in legs] == [(1, crm["ivanova"]["id"], "answered", None),
                                                             (2, lebedev["id"], "attended", crm["ivanova"]["id"])]
    assert consultation_row["direction"] == "internal" and consultation_row["status"] == "answered"
    assert await count(db, "SELECT count(*) FROM calls") == 2
    await asyncio.sleep(0.05)
    await pops.close()
    assert (crm["ivanova"]["id"], "transferred") in pops.seen and (lebedev["id"], "answered") in pops.seen


async def test_an_attended_transfer_asked_on_the_consultation_call_works_the_same(db, crm, fake, start_app):
    await no_recording(db)
    await _lebedev(db, crm)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    consult, lebedev_leg = await _consultation(fake, "102", "104")
    await fake.refer(consult, "104", replaces=leg)  # some phones REFER on the consultation instead
    await fake.wait_for(lambda: fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, lebedev_leg],
                        what="Lebedev in the caller's bridge")
    await fake.wait_for(lambda: (consult, "channel_answered") in fake.transfer_progress, what="NOTIFY 200")
    assert (await fake.wait_gone(leg))["cause"] == 16, "Ivanova's leg is hung up"
    await fake.hang_up(consult)
    await fake.hang_up(lebedev_leg)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1][1] == "transferred by Irina Ivanova to Oleg Lebedev after a consultation"


async def test_an_attended_transfer_before_the_consulted_phone_answers_is_put_through_blind(db, crm, fake,
                                                                                           start_app):
    await no_recording(db)
    lebedev = await _lebedev(db, crm)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    consult = await fake.incoming("102", args=["internal", "104"], line="PJSIP/102")
    ringing = (await fake.next_originate("PJSIP/104")).query["channelId"]
    await fake.refer(leg, "104", replaces=consult)  # Lebedev's phone still rings for the consultation
    assert (await fake.wait_gone(consult))["cause"] == 16 and (await fake.wait_gone(ringing))["cause"] == 16
    await fake.wait_for(lambda: (leg, "channel_answered") in fake.transfer_progress, what="NOTIFY 200")
    await fake.hang_up(leg)
    again = (await fake.next_originate("PJSIP/104", after=1)).query["channelId"]
    assert fake.channels[again].app_args == f"dialed,{caller}", "rung for the caller's call now"
    await fake.answer(again)
    await fake.wait_for(lambda: fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, again], what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1] == ("user", "transferred by Irina Ivanova to Oleg Lebedev", "answered")
    legs, _ = await _legs(db, row["id"])
    assert [(u, how) for _, u, _, how, _ in legs] == [(crm["ivanova"]["id"], "answered"), (lebedev["id"], "blind")]


async def test_a_call_placed_from_a_phone_is_not_transferred_and_goes_on(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller = await fake.incoming("102", args=["outbound", "84951234567"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/84951234567@trunk")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.refer(caller, "104")
    await fake.wait_for(lambda: (caller, "channel_declined") in fake.transfer_progress, what="NOTIFY 603")
    await asyncio.sleep(0.05)
    assert bridged(fake, caller), "the call goes on"
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1] == ("transfer", "transfer by Irina Ivanova to 104",
                             "refused: calls placed by a user are not transferred")


async def test_a_web_transfer_to_a_queue_hangs_up_the_operator_and_rings_the_members(db, crm, fake, start_app,
                                                                                     database_url):
    from crm.transfers import queries as transfers_q

    await no_recording(db)
    lebedev = await _lebedev(db, crm, in_queue=True)
    async with db.acquire() as conn:
        support = await conn.fetchval("INSERT INTO queues (name, ring_seconds) VALUES ('Support', 5) RETURNING id")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", support, lebedev["id"])
    pops = await Pops().listen(database_url)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    async with db.acquire() as conn:
        # The call-log writer inserts the row on its own task, a moment after the bridge.
        for _ in range(100):
            if call_id := await conn.fetchval("SELECT id FROM calls WHERE channel_id = $1", caller):
                break
            await asyncio.sleep(0.03)
        request = await transfers_q.request_transfer(conn, call_id=call_id, channel_id=caller,
                                                     requested_by=crm["ivanova"]["id"], kind="queue", queue_id=support)
    assert (await fake.wait_gone(leg))["cause"] == 16, "the app hangs up the operator's phone"
    dial = await fake.next_originate("PJSIP/104")
    await fake.wait_for(lambda: fake.bridge_moh.get(f"pbxcrm-{caller}") == "default", what="music to the bridge")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="the queue member talks to the caller")
    async with db.acquire() as conn:
        for _ in range(200):
            if (await transfers_q.get(conn, request))["status"] == "done":
                break
            await asyncio.sleep(0.01)
        assert (await transfers_q.get(conn, request))["status"] == "done"
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[1] == ("queue", "transferred by Irina Ivanova to queue Support",
                             "answered by Oleg Lebedev after 0 s")
    legs, _ = await _legs(db, row["id"])
    assert [(u, how) for _, u, _, how, _ in legs] == [(crm["ivanova"]["id"], "answered"), (lebedev["id"], "web")]
    await asyncio.sleep(0.05)
    await pops.close()
    assert (crm["ivanova"]["id"], "transferred") in pops.seen and (lebedev["id"], "ringing") in pops.seen


async def test_a_web_transfer_of_a_call_that_ended_fails_and_says_so(db, crm, fake, start_app, database_url):
    from crm.transfers import queries as transfers_q

    await no_recording(db)
    await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    async with db.acquire() as conn:
        request = await transfers_q.request_transfer(conn, call_id=row["id"], channel_id=caller,
                                                     requested_by=crm["ivanova"]["id"], kind="number",
                                                     number="84951112233")
        for _ in range(200):
            if (await transfers_q.get(conn, request))["status"] in ("done", "failed"):
                break
            await asyncio.sleep(0.01)
        result = await transfers_q.get(conn, request)
    assert result["status"] == "failed" and result["error"] == "the call is over, or nobody talks on it now"
    assert not fake.originated("PJSIP/84951112233@trunk")
