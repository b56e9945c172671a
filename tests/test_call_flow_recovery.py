"""The call flow when things break: the database stops answering or was never there,
the events websocket drops, the app restarts mid-call (see test_call_flow.py)."""

from __future__ import annotations

import asyncio
import urllib.parse

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    bridged,
    count,
    ended_row,
    fake,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.fake_ari import FakeAri
from tests.fast_clock import fast_clock
from tests.tcp_proxy import TcpProxy, closed_port, via

# ---- the database does not answer: the call is never lost ----

async def test_a_database_that_stops_answering_sends_a_known_client_to_the_default_queue(db, crm, fake, start_app,
                                                                                         database_url):
    await no_recording(db)
    parts = urllib.parse.urlsplit(database_url)
    proxy = await TcpProxy(parts.hostname, parts.port or 5432).start()
    try:
        with fast_clock(asyncio.get_running_loop(), 20):
            app = await start_app(database_url=via(database_url, proxy.port))
            proxy.blackhole()
            caller = await fake.incoming(CLIENT)
            # Routed from the routing data read before: the default queue's member, not the manager.
            petrov_leg = (await fake.next_originate("PJSIP/103", timeout=5)).query["channelId"]
            assert not fake.originated("PJSIP/102")
            await fake.answer(petrov_leg)
            await fake.wait_for(lambda: bridged(fake, caller),
                                what="bridged")
            await fake.hang_up(caller)
            await fake.wait_gone(petrov_leg)
            proxy.restore()
            row = await ended_row(db, caller, timeout=10)
            await app.stop()
    finally:
        await proxy.close()
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert row["counterparty_id"] == crm["client"], "the row finds the client itself once written"
    async with db.acquire() as conn:
        reason = await conn.fetchval("SELECT route->0->>'reason' FROM calls WHERE id = $1", row["id"])
    assert reason.startswith(("CRM lookup took longer than", "CRM database unavailable")), reason


async def test_without_any_routing_data_the_call_goes_to_the_dialplans_default_queue(db, fake, start_app):
    with fast_clock(asyncio.get_running_loop(), 50):
        app = await start_app(database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere")
        caller = await fake.incoming(CLIENT)
        await fake.wait_for(lambda: caller in fake.continued, what="handed to the dialplan")
        await asyncio.sleep(0.5)
        assert caller in fake.channels and not fake.channels[caller].in_stasis, "handed on, not hung up"
        assert not fake.originated()
        await app.stop()
    assert fake.continued[caller] == {"context": "pbxcrm-default-queue", "extension": "s", "priority": 1}
    assert caller in fake.channels, "the app never hangs up a call it handed to the dialplan"


# ---- the events connection drops; the app restarts ----

async def _bridged_call(fake: FakeAri, number: str = STRANGER, phone: str = "PJSIP/103") -> tuple[str, str]:
    earlier = len(fake.originated(phone))
    caller = await fake.incoming(number)
    leg = (await fake.next_originate(phone, after=earlier)).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller),
                        what="bridged")
    return caller, leg


async def test_the_app_reconnects_after_the_websocket_drops_and_the_call_ends_normally(db, crm, fake, start_app):
    await no_recording(db)
    with fast_clock(asyncio.get_running_loop(), 10):
        app = await start_app()
        caller, leg = await _bridged_call(fake)
        await fake.drop_websocket()
        await fake.wait_for(lambda: fake.connections == 2 and len(fake.calls_to("GET", "/bridges")) == 2,
                            what="reconnected and resynced")
        # What a reconnect sets up again: device states, the event filter, the dialplan's settings.
        assert len(fake.calls_to("PUT", "/applications/pbxcrm/eventFilter")) == 2
        assert [r.query for r in fake.calls_to("POST", "/applications/pbxcrm/subscription")].count(
            {"eventSource": "deviceState:"}) == 2
        assert fake.calls_to("GET", "/channels")
        reconnect = [i for i, r in enumerate(fake.requests) if r.path == "/events"][1]

        def stored() -> set[str]:
            return {r.body["variables"]["PBXCRM_KEY"] for r in fake.requests[reconnect:]
                    if r in fake.originated("Local/s@pbxcrm-store")}

        # Written in the background once the routing data is read again (not before the events are read).
        await fake.wait_for(lambda: {"default_dial", "default_ring", "language"} <= stored(),
                            what=f"the dialplan's settings written again (so far {stored()})")
        await fake.hang_up(caller)
        assert (await fake.wait_gone(leg))["cause"] == 16
        row = await ended_row(db, caller)
        await app.stop()
    assert row["status"] == "answered" and await count(db, "SELECT count(*) FROM calls") == 1


async def test_a_caller_who_hangs_up_while_the_websocket_is_down_ends_the_call_after_the_reconnect(
        db, crm, fake, start_app):
    await no_recording(db)
    with fast_clock(asyncio.get_running_loop(), 10):
        app = await start_app()
        caller, leg = await _bridged_call(fake)
        await fake.drop_websocket()
        await fake.hang_up(caller)  # its events are lost: nobody is connected
        await fake.wait_for(lambda: fake.connections == 2 and len(fake.calls_to("GET", "/bridges")) == 2,
                            what="reconnected and resynced")
        try:
            await fake.wait_gone(leg, timeout=0.2)
            await ended_row(db, caller, timeout=0.2)
        finally:
            await app.stop()


async def test_a_restarted_app_routes_a_caller_still_waiting_again(db, crm, fake, start_app):
    await no_recording(db)
    first = await start_app()
    caller = await fake.incoming(STRANGER)
    first_leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await first.stop()
    assert (await fake.wait_gone(first_leg))["cause"] == 16, "a stopping app stops the phones it rings"
    await start_app()
    leg = (await fake.next_originate("PJSIP/103", after=1)).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller),
                        what="bridged")
    await fake.hang_up(leg)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and await count(db, "SELECT count(*) FROM calls") == 1
    assert route(row)[0] == ("note", "pbxcrm", "took the call up again after a restart")


async def test_a_restarted_app_ends_a_conversation_from_before_when_one_side_leaves(db, crm, fake, start_app):
    await no_recording(db)
    with fast_clock(asyncio.get_running_loop(), 20):
        first = await start_app()
        caller, leg = await _bridged_call(fake)
        other_caller, other_leg = await _bridged_call(fake, CLIENT, "PJSIP/102")
        await first.stop()
        await fake.hang_up(other_caller)  # while no app is connected
        app = await start_app()
        # The conversation that lost a side while the app was away: its phone is hung up.
        assert (await fake.wait_gone(other_leg))["cause"] == 16
        await fake.hang_up(caller)
        assert (await fake.wait_gone(leg))["cause"] == 16
        await fake.wait_for(lambda: f"pbxcrm-{caller}" not in fake.bridges, what="bridge destroyed")
        row = await ended_row(db, caller)
        await app.stop()
    assert row["status"] == "answered"
