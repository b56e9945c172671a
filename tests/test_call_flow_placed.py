"""Calls the users place, seen through the fake ARI (see test_call_flow.py):
click-to-call, outbound through the trunk, internal; and channels the app did not expect."""

from __future__ import annotations

import asyncio

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    bridged,
    ended_row,
    fake,
    no_recording,
    route,
    spec,
    start_app,
)

# ---- calls the users place: click-to-call, outbound, internal ----

async def test_click_to_call_rings_the_user_then_dials_the_client_and_logs_an_outgoing_call(db, crm, fake, start_app):
    from crm.clicktocall import queries as c2c_q

    await no_recording(db)
    await start_app()
    async with db.acquire() as conn:
        request_id = await c2c_q.request_call(conn, user=crm["ivanova"], number="+7 495 123-45-67",
                                              requested_by=crm["ivanova"]["id"], region="RU")
    user_dial = await fake.next_originate("PJSIP/102")
    user_leg = f"c2c-{request_id}"
    assert user_dial.query["channelId"] == user_leg and user_dial.query["appArgs"] == f"clicktocall,{request_id}"
    await fake.answer(user_leg)  # the user picks up: now the client's number is dialled

    dial = await fake.next_originate("PJSIP/74951234567@trunk")
    assert dial.query["appArgs"] == f"dialed,{user_leg}" and dial.query["callerId"] == '"Irina Ivanova" <102>'
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, user_leg),
                        what="bridged")
    assert not fake.calls_to("POST", f"/channels/{user_leg}/answer"), "the user's channel is already up"
    await fake.hang_up(dial.query["channelId"])
    row = await ended_row(db, user_leg)
    assert row["direction"] == "outgoing" and row["status"] == "answered"
    assert row["counterparty_id"] == crm["client"] and row["caller_user_id"] == crm["ivanova"]["id"]
    assert route(row) == [("outgoing", "74951234567 (Sokolov Ivan)", "answered")]
    async with db.acquire() as conn:
        for _ in range(100):
            if (await c2c_q.get(conn, request_id))["status"] == "done":
                break
            await asyncio.sleep(0.01)
        assert (await c2c_q.get(conn, request_id))["status"] == "done"


async def test_an_outbound_call_from_a_phone_goes_out_through_the_trunk(db, crm, fake, start_app):
    await no_recording(db)
    await start_app()
    caller = await fake.incoming("102", args=["outbound", "84951234567"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/84951234567@trunk")
    assert dial.query["appArgs"] == f"dialed,{caller}" and dial.query["timeout"] == "60"
    await fake.wait_for(lambda: fake.channels[caller].ringing, what="the user hears ringback")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller),
                        what="bridged")
    await fake.hang_up(caller)
    await fake.wait_gone(dial.query["channelId"])
    row = await ended_row(db, caller)
    assert row["direction"] == "outgoing" and row["status"] == "answered" and row["counterparty_id"] == crm["client"]
    assert row["operator_user_id"] == crm["ivanova"]["id"]


async def test_an_internal_call_to_a_busy_or_undialable_colleague_ends_the_callers_side(db, crm, fake, start_app):
    fake.failing_originate.add("PJSIP/104")
    await start_app()
    caller = await fake.incoming("102", args=["internal", "103"], line="PJSIP/102")
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.hang_up(leg, cause=17)
    assert (await fake.wait_gone(caller))["cause"] == 16
    row = await ended_row(db, caller)
    assert row["direction"] == "internal" and row["status"] == "missed"
    assert route(row) == [("internal", "extension 103 (Pavel Petrov)", "was busy")]

    caller = await fake.incoming("102", args=["internal", "104"], line="PJSIP/102")
    assert (await fake.wait_gone(caller))["cause"] == 16
    row = await ended_row(db, caller)
    assert route(row) == [("internal", "extension 104", "could not be reached (500)")]


async def test_channels_the_app_did_not_expect_are_hung_up_or_left_alone(db, crm, fake, start_app):
    await start_app()
    stray_click = await fake.incoming("102", args=["clicktocall", "999"], line="PJSIP/102")
    late_leg = await fake.incoming("103", args=["dialed", "1700000000.1"], line="PJSIP/103")
    other_app = await fake.incoming("104", args=["voicemail"], line="PJSIP/104")
    await fake.wait_gone(stray_click)
    await fake.wait_gone(late_leg)
    await asyncio.sleep(0.05)
    assert other_app in fake.channels, "a channel with arguments the app does not know is not its to end"
    await fake.hang_up(other_app)


# ---- the fake itself: it holds the app to the documents ----

async def test_the_fake_refuses_and_records_what_the_ari_documents_do_not_allow(fake):
    import base64

    import aiohttp

    auth = {"Authorization": "Basic " + base64.b64encode(b"pbxcrm:pbxcrm-sandbox").decode()}
    async with aiohttp.ClientSession(headers=auth) as http:
        for method, path, params in [("DELETE", "/channels/x", {"reason": "hung up"}),  # not an allowed reason
                                     ("POST", "/channels", {"app": "pbxcrm"}),  # endpoint is required
                                     ("POST", "/channels/x/answer", {"now": "true"}),  # undocumented parameter
                                     ("POST", "/bridges/b/record", {"name": "r", "format": "wav", "beep": "yes"}),
                                     ("PATCH", "/channels/x", {}),  # no such operation
                                     ("GET", "/phones", {})]:  # no such resource
            async with http.request(method, f"{fake.url}/ari{path}", params=params) as resp:
                assert resp.status == 400, (method, path)
        async with http.delete(f"{fake.url}/ari/channels/nobody", params={"reason": "busy"}) as resp:
            assert resp.status == 404, "a documented request for a channel that does not exist"
    assert len(fake.violations) == 6 and "reason: 'hung up' is not one of" in fake.violations[0]
    assert "required parameter 'endpoint' missing" in fake.violations[1]
    assert "'now' is not documented" in fake.violations[2] and "'yes' is not a boolean" in fake.violations[3]
    fake.violations.clear()


def test_the_fakes_events_are_checked_against_the_documented_models(spec):
    good = {"type": "ChannelDestroyed", "application": "pbxcrm", "timestamp": "2026-11-22T18:46:49.123+0000",
            "cause": 16, "cause_txt": "Normal Clearing",
            "channel": {"id": "1.1", "protocol_id": "", "name": "PJSIP/102-00000001", "state": "Up",
                        "caller": {"name": "", "number": "102"}, "connected": {"name": "", "number": ""},
                        "accountcode": "", "dialplan": {"context": "default", "exten": "s", "priority": 1,
                                                        "app_name": "", "app_data": ""},
                        "creationtime": "2026-11-22T18:46:40.000+0000", "language": "en"}}
    assert spec.check_event(good) == []
    bad = {**good, "cause": "16", "timestamp": "yesterday", "channel": {**good["channel"], "state": "Talking"}}
    del bad["cause_txt"]
    problems = spec.check_event(bad)
    assert any("cause_txt" in p for p in problems) and any("'16' is not of type int" in p for p in problems)
    assert any("timestamp" in p for p in problems) and any("'Talking' is not one of" in p for p in problems)
    assert spec.check_event({"type": "CallAnswered", "application": "pbxcrm"}) == [
        "event type 'CallAnswered' is not documented"]


async def test_a_click_to_call_made_for_an_order_links_its_call_to_the_order(db, crm, fake, start_app):
    """Issue 22 (H9): the request's order rides the placed call to calls.order_id."""
    from crm.clicktocall import queries as c2c_q

    await no_recording(db)
    await start_app()
    async with db.acquire() as conn:
        customer = await conn.fetchval("INSERT INTO customers (name) VALUES ('Romashka') RETURNING id")
        order_id = await conn.fetchval("INSERT INTO orders (customer_id, name) VALUES ($1, 'Survey') RETURNING id",
                                       customer)
        request_id = await c2c_q.request_call(conn, user=crm["ivanova"], number="+7 495 123-45-67",
                                              requested_by=crm["ivanova"]["id"], region="RU", order_id=order_id)
    await fake.next_originate("PJSIP/102")
    user_leg = f"c2c-{request_id}"
    await fake.answer(user_leg)
    dial = await fake.next_originate("PJSIP/74951234567@trunk")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, user_leg), what="bridged")
    await fake.hang_up(dial.query["channelId"])
    row = await ended_row(db, user_leg)
    assert row["order_id"] == order_id and row["direction"] == "outgoing"
