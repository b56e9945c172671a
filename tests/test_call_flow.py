"""The call flow without sipp: the Stasis app (`ari_app.app.run`) against a fake ARI
that follows Asterisk's Swagger documents, with the real test database.

Each test plays one path through the call: the people (caller, phones) are the
fake's `incoming`, `answer`, `hang_up`; the app is seen only through the ARI
requests it makes and the rows it writes. The sipp tests stay the end-to-end
proof; these run in milliseconds (a scaled clock where the app waits whole seconds).
"""

from __future__ import annotations

import asyncio
import socket
import urllib.parse

import pytest

from tests.ari_spec import DOCS_DIR, AriSpec
from tests.call_flow_support import Pops, RunningApp, app_settings, ended_row, in_order, route
from tests.fake_ari import FakeAri
from tests.fast_clock import fast_clock
from tests.helpers import make_user, routing_crm
from tests.tcp_proxy import TcpProxy

CLIENT = "+74951234567"  # tests.helpers.CLIENT_PHONE as a trunk sends it
STRANGER = "+74997654321"


@pytest.fixture(scope="module")
def spec() -> AriSpec:
    if not (DOCS_DIR / "resources.json").exists():
        pytest.fail(f"the ARI Swagger documents are missing at {DOCS_DIR} (set PBXCRM_ARI_API_DOCS)")
    return AriSpec.load(DOCS_DIR)


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    """The users these tests make never log in: argon2 at its cheapest keeps each setup in milliseconds."""
    from argon2 import PasswordHasher

    import crm.passwords

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crm.passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


@pytest.fixture
async def fake(spec):
    ari = FakeAri(spec)
    await ari.start()
    for extension in ("102", "103", "104"):
        ari.add_phone(extension)
    yield ari
    await ari.close()


@pytest.fixture
async def start_app(fake, settings, tmp_path):
    apps: list[RunningApp] = []

    async def start(**overrides) -> RunningApp:
        app = RunningApp(fake, app_settings(settings, fake, tmp_path, **overrides))
        apps.append(app)
        return await app.start()

    yield start
    for app in apps:
        await app.stop()


@pytest.fixture
async def crm(db):
    return await routing_crm(db)


async def no_recording(pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('recording.policy', '{"mode": "none"}')
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""")


async def count(pool, sql: str, *args) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


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
    assert row["started_at"] <= row["answered_at"] <= row["ended_at"] and row["hangup_cause"] == 16
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
        await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
                            what="bridged")
        await fake.hang_up(petrov_leg)
        row = await ended_row(db, caller, steps=2)
        await app.stop()
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert route(row)[0] == ("manager", "manager Irina Ivanova", "did not answer in 3 s")


async def test_nobody_answering_in_the_queues_longest_wait_is_a_missed_call_with_a_callback(db, crm, fake, start_app):
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2 WHERE id = $1", crm["queue"])
    with fast_clock(asyncio.get_running_loop(), 30):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await fake.hang_up((await fake.next_originate("PJSIP/102")).query["channelId"], cause=17)
        # Petrov's phone rings twice, 2 s each time, and is never picked up.
        await fake.next_originate("PJSIP/103", after=1, timeout=6)
        play = await fake.wait_request("POST", f"/channels/{caller}/play", timeout=8)
        assert play.query == {"media": "sound:vm-nobodyavail"}
        # The caller listens to the prompt; the app hangs up after it.
        assert (await fake.wait_gone(caller, timeout=8))["cause"] == 16
        row = await ended_row(db, caller, steps=2)
        await app.stop()
    assert row["status"] == "missed" and row["answered_at"] is None and row["operator_user_id"] is None
    assert route(row) == [("manager", "manager Irina Ivanova", "was busy"),
                          ("queue", "queue Default", "nobody answered in 5 s")]
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
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
    assert await count(db, "SELECT count(*) FROM tasks") == 0, "no callback for an unknown caller"


# ---- the database does not answer: the call is never lost ----

def _via(database_url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


async def test_a_database_that_stops_answering_sends_a_known_client_to_the_default_queue(db, crm, fake, start_app,
                                                                                         database_url):
    await no_recording(db)
    parts = urllib.parse.urlsplit(database_url)
    proxy = await TcpProxy(parts.hostname, parts.port or 5432).start()
    try:
        with fast_clock(asyncio.get_running_loop(), 20):
            app = await start_app(database_url=_via(database_url, proxy.port))
            proxy.blackhole()
            caller = await fake.incoming(CLIENT)
            # Routed from the routing data read before: the default queue's member, not the manager.
            petrov_leg = (await fake.next_originate("PJSIP/103", timeout=5)).query["channelId"]
            assert not fake.originated("PJSIP/102")
            await fake.answer(petrov_leg)
            await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
                                what="bridged")
            await fake.hang_up(caller)
            await fake.wait_gone(petrov_leg)
            proxy.restore()
            row = await ended_row(db, caller, timeout=30)
            await app.stop()
    finally:
        await proxy.close()
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert row["counterparty_id"] == crm["client"], "the row finds the client itself once written"
    async with db.acquire() as conn:
        reason = await conn.fetchval("SELECT route->0->>'reason' FROM calls WHERE id = $1", row["id"])
    assert reason.startswith(("CRM lookup took longer than", "CRM database unavailable")), reason


async def test_without_any_routing_data_the_call_goes_to_the_dialplans_default_queue(db, fake, start_app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with fast_clock(asyncio.get_running_loop(), 50):
        app = await start_app(database_url=f"postgresql://postgres@127.0.0.1:{closed_port}/nowhere")
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
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
        # What a reconnect sets up again: device states, the event filter, the dialplan's globals.
        assert len(fake.calls_to("PUT", "/applications/pbxcrm/eventFilter")) == 2
        assert [r.query for r in fake.calls_to("POST", "/applications/pbxcrm/subscription")].count(
            {"eventSource": "deviceState:"}) == 2
        assert fake.calls_to("GET", "/channels")
        assert len(fake.calls_to("POST", "/asterisk/variable")) >= 4
        await fake.hang_up(caller)
        assert (await fake.wait_gone(leg))["cause"] == 16
        row = await ended_row(db, caller)
        await app.stop()
    assert row["status"] == "answered" and await count(db, "SELECT count(*) FROM calls") == 1


@pytest.mark.xfail(strict=True, reason="bug: a caller who hangs up while the events websocket is down is never "
                                       "noticed: resync skips channels whose session is still registered, so the "
                                       "phone stays bridged and the row never ends")
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
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


@pytest.mark.xfail(strict=True, reason="bug (ari_app/ringing.py Ringer.ring): a leg that answers while the "
                                       "other legs are still being originated is only seen when another leg "
                                       "ends or the ring time runs out; meanwhile it hears silence")
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
        await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
                            timeout=0.2, what="bridged with the phone that answered")
    finally:
        await fake.hang_up(caller)
        await app.stop()


@pytest.mark.xfail(strict=True, reason="bug (ari_app/session.py CallSession._talk): when the phone that answered "
                                       "hangs up before the bridge is made, the session ends and leaves the caller "
                                       "answered in Stasis, in silence, and the bridge it created is never destroyed")
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{user_leg}", {}).get("channels", ())) == 2,
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
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
    await fake.wait_for(lambda: len(fake.bridges.get(f"pbxcrm-{caller}", {}).get("channels", ())) == 2,
                        what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert not fake.originated("PJSIP/102")
    assert route(row)[0] == ("manager", "manager Irina Ivanova", "is busy on another call")
    assert row["status"] == "answered" and row["queue_id"] == crm["queue"]



# ---- the fake itself: it holds the app to the documents ----

async def test_the_fake_refuses_and_records_what_the_ari_documents_do_not_allow(fake):
    import aiohttp

    auth = aiohttp.BasicAuth("pbxcrm", "pbxcrm-sandbox")
    async with aiohttp.ClientSession(auth=auth) as http:
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
