"""Inbound routing for real: sipp callers and sipp phones through the sandbox Asterisk."""

import asyncio
import json
import urllib.parse

from crm.calls.route import route_text
from tests.helpers import finished_call, make_user
from tests.processes import REPO
from tests.tcp_proxy import TcpProxy
from tests.telephony import SippPhone, ari_get, astdb_becomes, first_invite_time, sipp_call, wait_for

CALLED = "74957654321"


async def test_known_client_reaches_its_manager_with_its_name_on_the_phone(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=3000)
        assert result.returncode == 0, result.output + app.log_text()
        assert ivanova_phone.invites() and ivanova_phone.invites()[0].startswith('"Sokolov Ivan" <sip:84951234567@')
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row is not None, app.log_text()
    assert row["status"] == "answered"
    assert row["operator_user_id"] == crm["ivanova"]["id"]
    assert row["counterparty_id"] == crm["client"]
    assert 0 <= row["wait_seconds"] < 2
    assert 2.5 <= row["talk_seconds"] <= 4.5
    assert route_text(row["route"]) == "manager Irina Ivanova answered"


async def test_busy_manager_falls_back_to_the_default_queue(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("102", "phone_busy.xml", tmp_path) as busy, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=2000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(busy.invites()) == 1
        assert petrov_phone.invites()[0].startswith('"Sokolov Ivan"')
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert row["queue_id"] == crm["queue"]
    text = route_text(row["route"])
    assert text.startswith("manager Irina Ivanova was busy → queue Default: answered by Pavel Petrov"), text


async def test_a_manager_already_on_a_call_is_not_rung_again(crm, db, start_stasis_app, tmp_path):
    """Known from Asterisk's device state events (ari_app/phone_states.py), not by ringing the phone."""
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        first = asyncio.create_task(sipp_call(caller="84951234567", called=CALLED, talk_ms=5000))
        assert await wait_for(lambda: _talking(db, "84951234567"), timeout=10), app.log_text()
        second = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1000)
        assert second.returncode == 0 and (await first).returncode == 0, second.output + app.log_text()
        assert len(ivanova_phone.invites()) == 1
        assert len(petrov_phone.invites()) == 1
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT route FROM calls WHERE caller_number = '84951234567' ORDER BY started_at")
    assert [route_text(r["route"]) for r in rows] == [
        "manager Irina Ivanova answered",
        "manager Irina Ivanova is busy on another call → queue Default: answered by Pavel Petrov after 0 s"]


async def _talking(pool, caller):
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM calls WHERE caller_number = $1 AND answered_at IS NOT NULL "
                                   "AND ended_at IS NULL", caller)


async def test_manager_who_does_not_answer_in_time_falls_back_to_the_queue(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("102", "phone_noanswer.xml", tmp_path) as silent, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=2000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(silent.invites()) == 1 and len(petrov_phone.invites()) == 1
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row["operator_user_id"] == crm["petrov"]["id"]
    text = route_text(row["route"])
    assert text.startswith("manager Irina Ivanova did not answer in 3 s → queue Default: answered by Pavel Petrov"), text
    # About 3 s of ringing the manager before the queue took the call.
    assert 2.5 <= row["wait_seconds"] <= 6


async def test_unknown_number_reaches_the_default_queue_without_a_counterparty(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        result = await sipp_call(caller="89031112233", called=CALLED, talk_ms=1500)
        assert result.returncode == 0, result.output + app.log_text()
        assert "89031112233" in petrov_phone.invites()[0]
    row = await wait_for(lambda: finished_call(db, "89031112233"))
    assert row["counterparty_id"] is None
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert json.loads(row["route"])[0]["reason"] == "unknown caller"


async def test_with_the_database_unreachable_the_call_goes_to_the_default_queue_and_is_logged_later(
        crm, db, database_url, start_stasis_app, tmp_path):
    target = urllib.parse.urlsplit(database_url)
    proxy = await TcpProxy(target.hostname, target.port).start()
    try:
        proxied = urllib.parse.urlunsplit(target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}"))
        app = await start_stasis_app(proxied)
        await asyncio.sleep(0.5)  # routing data read while the database was there
        proxy.blackhole()
        caller_trace = tmp_path / "caller-messages.log"
        async with SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
            result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1500, message_file=caller_trace)
            assert result.returncode == 0, result.output + app.log_text()
            assert len(petrov_phone.invites()) == 1
            delay = first_invite_time(petrov_phone.messages) - first_invite_time(caller_trace)
        assert delay < 1.0, f"the default queue's phone rang {delay:.2f} s after the caller's INVITE"
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM calls") == 0  # nothing could be written yet
        proxy.restore()
        row = await wait_for(lambda: finished_call(db, "84951234567"), timeout=30)
        assert row is not None, app.log_text()
    finally:
        await proxy.close()
    # Written once the database was back, with the client found by number at that time.
    assert row["counterparty_id"] == crm["client"]
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    route = json.loads(row["route"])
    assert route[0]["reason"] == "CRM lookup took longer than 300 ms"
    assert route[0]["at"] < 1.0


async def test_with_the_app_dead_the_dialplan_reaches_the_default_queue_and_a_restart_leaves_nothing_stuck(
        crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    assert await astdb_becomes("default_dial", "PJSIP/103"), app.log_text()
    async with SippPhone("102", "phone_noanswer.xml", tmp_path) as silent, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        # A call is ringing its manager when the app dies.
        first = asyncio.create_task(sipp_call(caller="84951234567", called=CALLED, talk_ms=2000, timeout=45))
        assert await silent.wait_for_invite()
        app.kill()
        # With the app dead, a new call still reaches the default queue, through the dialplan.
        second = await sipp_call(caller="89261234567", called=CALLED, talk_ms=1000)
        assert second.returncode == 0, second.output
        assert any("89261234567" in f for f in petrov_phone.invites())
        # Back again, the app takes up the call it left in Stasis.
        app = await start_stasis_app()
        result = await first
        assert result.returncode == 0, result.output + app.log_text()
    assert await wait_for(_nothing_in_stasis, timeout=10), await ari_get("/channels")
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row["status"] == "answered" and row["operator_user_id"] == crm["petrov"]["id"]
    assert "took the call up again after a restart" in route_text(row["route"])


async def _nothing_in_stasis() -> bool:
    status, channels = await ari_get("/channels")
    return status == 200 and not any((c.get("dialplan") or {}).get("app_name") == "Stasis" for c in channels)


async def test_a_queue_nobody_answers_in_time_offers_a_callback_and_a_caller_who_leaves_is_missed(
        crm, db, start_stasis_app, tmp_path):
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2, offer = 'callback' "
                           "WHERE is_default")
    app = await start_stasis_app()
    async with SippPhone("103", "phone_noanswer.xml", tmp_path) as silent:
        # The queue gives up after 5 s and offers a callback (about 5.5 s of prompt, then 6 s for the
        # key); the caller hangs up at 8 s, during the offer (tests/test_voicemail_calls.py presses 1).
        result = await sipp_call(caller="89031112233", called=CALLED, talk_ms=8000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(silent.invites()) >= 2  # rung again after each 2 s attempt
    async def ended_with_its_last_step():
        # The hang-up ends the row; the offer's loop notes why a moment later (its own write).
        row = await finished_call(db, "89031112233")
        return row if row is not None and "→" in route_text(row["route"]) else None
    row = await wait_for(ended_with_its_last_step, timeout=5)
    assert row is not None, app.log_text()
    assert row["status"] == "missed" and row["operator_user_id"] is None
    assert route_text(row["route"]) == ("queue Default: nobody answered in 5 s → "
                                        "the caller hung up during the offer"), app.log_text()
    assert 7.5 <= (row["ended_at"] - row["started_at"]).total_seconds() < 12


async def test_round_robin_queue_takes_members_in_turn(crm, db, start_stasis_app, tmp_path):
    sidorova = await make_user(db, "sidorova", "operator", full_name="Sveta Sidorova", extension="104")
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'roundrobin' WHERE is_default")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, 1)",
                           crm["queue"], sidorova["id"])
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer.xml", tmp_path) as p103, \
            SippPhone("104", "phone_answer.xml", tmp_path) as p104:
        for caller in ("89030000001", "89030000002", "89030000003"):
            result = await sipp_call(caller=caller, called=CALLED, talk_ms=500)
            assert result.returncode == 0, result.output + app.log_text()
        # One phone at a time, in turn: 103, 104, 103.
        assert len(p103.invites()) == 2 and len(p104.invites()) == 1
    await wait_for(lambda: finished_call(db, "89030000003"))
    async with db.acquire() as conn:
        operators = [r["operator_user_id"] for r in await conn.fetch(
            "SELECT operator_user_id FROM calls ORDER BY started_at")]
    assert operators == [crm["petrov"]["id"], sidorova["id"], crm["petrov"]["id"]]


async def test_the_call_and_its_route_show_in_the_calls_list_and_on_the_card(crm, db, settings, start_stasis_app,
                                                                              tmp_path):
    from starlette.testclient import TestClient

    from tests.helpers import login
    from web.app import create_app

    await start_stasis_app()
    async with SippPhone("102", "phone_busy.xml", tmp_path), SippPhone("103", "phone_answer.xml", tmp_path):
        assert (await sipp_call(caller="84951234567", called=CALLED, talk_ms=500)).returncode == 0
    await wait_for(lambda: finished_call(db, "84951234567"))
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login(client, "ivanova")
        calls_page = client.get("/calls").text
        assert "manager Irina Ivanova was busy → queue Default: answered by Pavel Petrov" in calls_page
        assert f'href="/counterparties/{crm["client"]}"' in calls_page
        card = client.get(f"/counterparties/{crm['client']}").text
        assert 'id="card-calls"' in card and "Pavel Petrov" in card and "answered" in card


async def test_the_app_reconnects_after_asterisk_restarts_and_routes_the_next_call(crm, db, start_stasis_app,
                                                                                   tmp_path):
    app = await start_stasis_app()
    assert await astdb_becomes("default_dial", "PJSIP/103"), app.log_text()
    proc = await asyncio.create_subprocess_exec(str(REPO / "scripts" / "sandbox.sh"), "cli", "core restart now")
    await proc.wait()
    # The websocket drops; the app retries with backoff and connects to the new Asterisk.
    assert await wait_for(lambda: app.log_text().count("ARI events connected") >= 2, timeout=30), \
        app.log_text()
    # The new Asterisk kept the dialplan's settings (AstDB), and the app wrote them again.
    assert await astdb_becomes("default_dial", "PJSIP/103"), app.log_text()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=500)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(ivanova_phone.invites()) == 1
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row["operator_user_id"] == crm["ivanova"]["id"]
