"""Screen pops (H5) and click-to-call buttons (H6) in Chromium, with real sipp calls."""


import pytest

from tests.browser import logged_in_page
from tests.helpers import PASSWORD, routing_crm
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, ari_get, first_invite_time, sipp_call, wait_for

CALLED = "74957654321"


@pytest.fixture
async def people(db):
    return await routing_crm(db)


async def logged_in(chromium, web_server, login):
    page = await logged_in_page(chromium, web_server.url, login, PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]")
    return page


async def pops(page):
    return await page.evaluate("window.pbxcrmPops || []")


async def test_the_ringing_managers_browser_pops_the_card_within_a_second_and_nobody_elses(
        people, db, web_server, chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    ivanova, petrov = await logged_in(chromium, web_server, "ivanova"), await logged_in(chromium, web_server, "petrov")
    async with SippPhone("102", "phone_answer.xml", tmp_path) as phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1500)
        assert result.returncode == 0, result.output + app.log_text()
    shown = await wait_for(lambda: pops(ivanova))
    ringing = next(p for p in shown if p["event"]["event"] == "ringing")
    assert ringing["event"]["name"] == "Sokolov Ivan" and ringing["event"]["counterparty_id"] == people["client"]
    delay = ringing["at"] / 1000 - first_invite_time(phone.messages)
    assert delay < 1.0, f"the pop came {delay:.3f} s after the INVITE reached the phone"
    assert [p["event"]["event"] for p in await wait_for(lambda: _two(ivanova))] == ["ringing", "answered"]
    panel = await ivanova.inner_text("#screen-pop")
    assert "Sokolov Ivan" in panel and "Last interactions" in panel
    # The comment box saves on the call.
    await ivanova.fill("#screen-pop textarea", "wants a discount")
    await ivanova.click("#screen-pop .save-comment")
    await ivanova.wait_for_selector("#screen-pop .saved:text('saved')")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT comment FROM calls") == "wants a discount"
    # Petrov's phone never rang: his browser showed nothing.
    assert await pops(petrov) == [] and await petrov.is_hidden("#screen-pop")


async def _two(page):
    shown = await pops(page)
    return shown if len(shown) >= 2 else None


async def test_an_unknown_caller_attached_from_the_pop_is_recognised_on_the_next_call(
        people, db, web_server, chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    petrov = await logged_in(chromium, web_server, "petrov")
    async with SippPhone("103", "phone_answer.xml", tmp_path):
        assert (await sipp_call(caller="89031112233", called=CALLED, talk_ms=500)).returncode == 0
        await wait_for(lambda: pops(petrov))
        assert "Unknown number" in await petrov.inner_text("#screen-pop")
        await petrov.fill("#screen-pop input[type=search]", "Sokolov")
        await petrov.click("#screen-pop button:text('Find')")
        await petrov.click("#screen-pop button.attach")
        await petrov.wait_for_selector("#screen-pop .attached")
        assert "89031112233 added to the card" in await petrov.inner_text("#screen-pop .attached")
        # Next time the same number calls, the CRM knows who it is.
        await petrov.evaluate("window.pbxcrmPops = []")
        assert (await sipp_call(caller="89031112233", called=CALLED, talk_ms=500)).returncode == 0, app.log_text()
        shown = await wait_for(lambda: pops(petrov))
    assert shown[0]["event"]["name"] == "Sokolov Ivan"
    async with db.acquire() as conn:
        counterparties = [r["counterparty_id"] for r in await conn.fetch("SELECT counterparty_id FROM calls ORDER BY id")]
    assert counterparties == [people["client"], people["client"]]


async def test_click_to_call_from_the_card_rings_the_users_phone_then_the_client(
        people, db, web_server, chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    ivanova = await logged_in(chromium, web_server, "ivanova")
    await ivanova.goto(f"{web_server.url}/counterparties/{people['client']}")
    async with SippPhone("102", "phone_answer.xml", tmp_path) as desk, \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        await ivanova.click("#contacts button[data-call]")
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert first_invite_time(desk.messages) < first_invite_time(outside.messages)
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        async with db.acquire() as conn:
            channel = await wait_for(lambda: conn.fetchval(
                "SELECT channel_id FROM call_requests WHERE status = 'dialing'"))
        await wait_for(lambda: _bridged(channel), timeout=5)
        assert await ari_delete(f"/channels/{channel}") == 204
    async with db.acquire() as conn:
        row = await wait_for(lambda: conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL"))
    assert row["direction"] == "outgoing" and row["counterparty_id"] == people["client"]


async def _bridged(channel_id):
    status, bridges = await ari_get("/bridges")
    return any(channel_id in b["channels"] and len(b["channels"]) == 2 for b in bridges or [])
