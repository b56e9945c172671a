"""The browser phone (issue 19) for real: Chromium with fake media devices registers over WSS to the
sandbox Asterisk as webrtc-<extension>, takes a sipp call with the screen pop, talks both ways,
keeps the call while the pages change, and places a click-to-call through itself."""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import subprocess
from pathlib import Path

import pytest

from crm.routing.queries import set_manager_ring_seconds
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import PASSWORD, routing_crm
from tests.telephony import TRUNK_PORT, AriEventWatcher, SippPhone, ari_delete, sipp_call, wait_for

CALLED = "74957654321"
REPO = Path(__file__).resolve().parent.parent
# Chromium as a phone: a fake microphone (a beep) nobody has to allow, and the sandbox's own CA-signed
# certificate on wss://127.0.0.1:8089 taken without installing the CA into its store.
PHONE_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--ignore-certificate-errors", "--autoplay-policy=no-user-gesture-required"]
# A decoded recording whose RMS (16-bit samples) is under this is silence; the callers' audio is thousands.
SOUND_FLOOR = 200


@pytest.fixture(scope="module")
async def phone_chromium():
    from playwright.async_api import async_playwright

    # The SIP library's bundle, as `make venv` builds it (a no-op when it is built already).
    subprocess.run([str(REPO / "scripts" / "vendor-js.sh")], check=True, capture_output=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + PHONE_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def people(db):
    crm = await routing_crm(db)
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET phone_mode = 'browser' WHERE id = $1", crm["ivanova"]["id"])
        # A browser clicked by a test on a busy machine: the manager's phone rings long enough to be answered.
        await set_manager_ring_seconds(conn, 15, None)
    return crm


async def phone_page(browser, base_url: str, login: str):
    """Logged in: the first page sends a browser-phone user to the shell, whose phone registers."""
    context = await browser.new_context()
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    await page.add_init_script("localStorage.setItem('debug', 'JsSIP:*')")
    await page.goto(base_url + "/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base_url + "/phone?to=%2Fclients")
    state = await wait_for(lambda: _registered(page), timeout=15)
    assert state == "registered", await page.inner_text("#phone") + "\n" + "\n".join(console[-40:])
    frame = page.frame(name="page")
    await frame.wait_for_selector("body[data-pops=ready]")
    return page, frame


async def _registered(page):
    state = await page.evaluate("window.pbxcrmPhone ? window.pbxcrmPhone.state() : null")
    return state if state in ("registered", "failed", "microphone-denied", "no-microphone", "unsupported") else None


async def _call_state(page, wanted: str):
    return await page.evaluate("window.pbxcrmPhone.call()") == wanted


async def _stats(page) -> dict:
    return await page.evaluate("window.pbxcrmPhone.stats()")


async def _audio_flows(page, seconds: float = 1.5) -> tuple[dict, dict]:
    before = await _stats(page)
    await asyncio.sleep(seconds)
    after = await _stats(page)
    assert after["sent"] > before["sent"] and after["received"] > before["received"], (before, after)
    return before, after


def _rms(path: str) -> float:
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
                         capture_output=True, check=True).stdout
    samples = array.array("h", pcm)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


async def test_the_browser_phone_takes_a_call_with_the_pop_talks_both_ways_and_keeps_it_across_pages(
        people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    async with contextlib.AsyncExitStack() as stack:
        await _take_a_call(stack, people, db, web_server, phone_chromium, start_stasis_app, tmp_path)


async def _pressed(page, button: str) -> bool:
    return await page.get_attribute(f"#phone {button}", "aria-pressed") == "true"


def _of_browser(watcher, kind: str) -> list[dict]:
    return [e for e in watcher.of_type(kind) if e["channel"]["name"].startswith("PJSIP/webrtc-102-")]


async def _take_a_call(stack, people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    rec_dir = tmp_path / "recordings"
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(rec_dir))
    page, frame = await phone_page(phone_chromium, web_server.url, "ivanova")
    watcher = await stack.enter_async_context(AriEventWatcher())
    caller = asyncio.create_task(sipp_call(caller="84951234567", called=CALLED, talk_ms=16000,
                                           scenario="caller_audio.xml", timeout=40))
    assert await wait_for(lambda: _call_state(page, "ringing"), timeout=10), app.log_text()
    # The phone rings together with the page's screen pop of the known client.
    pops = await wait_for(lambda: frame.evaluate("window.pbxcrmPops || []"))
    assert pops and pops[0]["event"]["event"] == "ringing" and pops[0]["event"]["name"] == "Sokolov Ivan"
    assert "84951234567" in await page.inner_text("#phone .phone-call")
    await page.click("#phone .phone-answer")
    assert await wait_for(lambda: _call_state(page, "talking"), timeout=10), app.log_text()
    await _audio_flows(page)
    # Another page of the CRM: the frame changes, the phone's page and its call do not.
    await frame.click("nav a[href='/tasks']")
    await frame.wait_for_url("**/tasks")
    await wait_for(lambda: page.url.endswith("/phone?to=%2Ftasks"), timeout=5)
    assert page.url.endswith("/phone?to=%2Ftasks"), page.url
    assert await _call_state(page, "talking")
    await _audio_flows(page)
    # Mute, keys and hold reach Asterisk (its own events, seen by a watcher app); the call goes on.
    await page.click("#phone .phone-mute")
    assert await page.get_attribute("#phone .phone-mute", "aria-pressed") == "true"
    await page.click("#phone .phone-mute")
    await page.click("#phone .phone-keypad-open")
    await page.click("#phone [data-dtmf='5']")
    assert await wait_for(lambda: _of_browser(watcher, "ChannelDtmfReceived"), timeout=5)
    assert _of_browser(watcher, "ChannelDtmfReceived")[0]["digit"] == "5"
    await page.click("#phone .phone-hold")
    assert await wait_for(lambda: _of_browser(watcher, "ChannelHold"), timeout=5)
    assert await wait_for(lambda: _pressed(page, ".phone-hold"), timeout=3)
    assert "On hold" in await page.inner_text("#phone .phone-call")
    await page.click("#phone .phone-hold")
    assert await wait_for(lambda: _of_browser(watcher, "ChannelUnhold"), timeout=5)
    await _audio_flows(page)
    result = await caller
    assert result.returncode == 0, result.output + app.log_text()
    assert await wait_for(lambda: _call_state(page, "none"), timeout=10)

    async with db.acquire() as conn:
        row = await wait_for(lambda: conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL"), timeout=10)
        assert row["status"] == "answered" and row["operator_user_id"] == people["ivanova"]["id"], dict(row)
        assert row["counterparty_id"] == people["client"]
        rec = await wait_for(lambda: conn.fetchrow("SELECT * FROM recordings WHERE error IS NULL"), timeout=20)
    assert rec is not None, app.log_text()
    assert _rms(rec["path"]) > SOUND_FLOOR


async def test_click_to_call_from_a_card_goes_out_through_the_browser_phone(
        people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    page, frame = await phone_page(phone_chromium, web_server.url, "ivanova")
    await frame.goto(f"{web_server.url}/counterparties/{people['client']}")
    async with SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        await frame.click("#contacts button[data-call]")
        # The browser phone rings first and picks up by itself (the user just clicked), then the client is dialled.
        assert await wait_for(outside.invites, timeout=15), app.log_text()
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        calls = await page.evaluate("window.pbxcrmPhoneCalls")
        assert [(c["direction"], c["auto"]) for c in calls] == [("incoming", True)]
        assert await wait_for(lambda: _call_state(page, "talking"), timeout=5)
        async with db.acquire() as conn:
            channel = await wait_for(lambda: conn.fetchval(
                "SELECT channel_id FROM call_requests WHERE status = 'dialing'"))
        await asyncio.sleep(1)
        await _audio_flows(page)
        assert await ari_delete(f"/channels/{channel}") == 204
    assert await wait_for(lambda: _call_state(page, "none"), timeout=10)
    async with db.acquire() as conn:
        row = await wait_for(lambda: conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL"))
    assert row["direction"] == "outgoing" and row["counterparty_id"] == people["client"], dict(row)
    assert people["ivanova"]["id"] in (row["operator_user_id"], row["caller_user_id"])


async def test_with_both_phones_the_browser_answers_the_desk_stops_and_the_user_is_busy_for_the_next_call(
        people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET phone_mode = 'both' WHERE id = $1", people["ivanova"]["id"])
    app = await start_stasis_app()
    page, _frame = await phone_page(phone_chromium, web_server.url, "ivanova")
    async with SippPhone("102", "phone_noanswer.xml", tmp_path) as desk, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov:
        first = asyncio.create_task(sipp_call(caller="84951234567", called=CALLED, talk_ms=8000,
                                              scenario="caller_audio.xml", timeout=40))
        assert await wait_for(lambda: _call_state(page, "ringing"), timeout=10), app.log_text()
        assert await desk.wait_for_invite(), app.log_text()  # the desk rings together with the browser
        await page.click("#phone .phone-answer")
        assert await wait_for(lambda: _call_state(page, "talking"), timeout=10), app.log_text()
        assert await wait_for(lambda: "CANCEL sip:" in desk.messages.read_text(), timeout=5)
        # Talking in the browser, Ivanova is busy: her client's next call goes to the queue, to Petrov.
        second = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1000, timeout=30)
        assert second.returncode == 0, second.output + app.log_text()
        assert petrov.invites() and len(desk.invites()) == 1
        assert (await first).returncode == 0, app.log_text()
    async with db.acquire() as conn:
        rows = await wait_for(lambda: _two_ended(conn), timeout=10)
    assert [(r["status"], r["operator_user_id"]) for r in rows] == [
        ("answered", people["ivanova"]["id"]), ("answered", people["petrov"]["id"])]


async def _two_ended(conn):
    rows = await conn.fetch("SELECT * FROM calls WHERE ended_at IS NOT NULL ORDER BY started_at")
    return rows if len(rows) == 2 else None


async def test_a_denied_microphone_is_said_and_the_phone_does_not_register(people, web_server, tmp_path):
    """Chromium with a microphone but nobody to allow it (no --use-fake-ui-for-media-stream): the
    headless browser dismisses the request, and the phone says so instead of registering."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
            "--use-fake-device-for-media-stream", "--ignore-certificate-errors"])
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(web_server.url + "/login")
            await page.fill("input[name=login]", "ivanova")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(web_server.url + "/phone?to=%2Fclients")
            assert await wait_for(lambda: _registered(page), timeout=15) == "microphone-denied"
            assert "Microphone denied" in await page.inner_text("#phone .phone-state")
            assert await page.is_visible("#phone .phone-retry")
        finally:
            await browser.close()


async def test_the_browser_phone_transfers_its_call_to_a_user_through_the_web_transfer_api(
        people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    page, _frame = await phone_page(phone_chromium, web_server.url, "ivanova")
    async with SippPhone("103", "phone_answer.xml", tmp_path) as petrov:
        caller = asyncio.create_task(sipp_call(caller="84951234567", called=CALLED, talk_ms=10000,
                                               scenario="caller_audio.xml", timeout=40))
        assert await wait_for(lambda: _call_state(page, "ringing"), timeout=10), app.log_text()
        await page.click("#phone .phone-answer")
        assert await wait_for(lambda: _call_state(page, "talking"), timeout=10), app.log_text()
        await page.click("#phone .phone-transfer-open")
        await page.wait_for_selector(f"#phone .phone-transfer option[value='user:{people['petrov']['id']}']",
                                     state="attached")
        await page.select_option("#phone .phone-transfer select", f"user:{people['petrov']['id']}")
        await page.click("#phone .phone-transfer button[type=submit]")
        assert await wait_for(petrov.invites, timeout=10), app.log_text()
        # Petrov took it: the browser phone's part is over, the caller talks on.
        assert await wait_for(lambda: _call_state(page, "none"), timeout=10), app.log_text()
        assert (await caller).returncode == 0, app.log_text()
    async with db.acquire() as conn:
        row = await wait_for(lambda: conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL"), timeout=10)
        request = await conn.fetchrow("SELECT * FROM transfer_requests")
        legs = await wait_for(lambda: _ended_legs(conn, row["id"]), timeout=10)
    assert request["status"] == "done" and request["requested_by"] == people["ivanova"]["id"], dict(request)
    # The call row: answered by Ivanova (in the browser), then Petrov's after the transfer.
    assert row["operator_user_id"] == people["ivanova"]["id"], dict(row)
    assert [leg["user_id"] for leg in legs] == [people["ivanova"]["id"], people["petrov"]["id"]], app.log_text()


async def _ended_legs(conn, call_id: int):
    rows = await conn.fetch("SELECT * FROM call_legs WHERE call_id = $1 ORDER BY position", call_id)
    return rows if len(rows) >= 2 and all(r["ended_at"] for r in rows) else None


async def test_a_number_typed_into_the_browser_phone_goes_out_as_the_users_outgoing_call(
        people, db, web_server, phone_chromium, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    page, _frame = await phone_page(phone_chromium, web_server.url, "ivanova")
    async with SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        await page.fill("#phone .phone-dial input", "8 (495) 123-45-67")
        await page.click("#phone .phone-dial button")
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert await wait_for(lambda: _call_state(page, "talking"), timeout=10), app.log_text()
        await _audio_flows(page)
        await page.click("#phone .phone-hangup")
        assert await wait_for(lambda: _call_state(page, "none"), timeout=5)
    async with db.acquire() as conn:
        row = await wait_for(lambda: conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL"), timeout=10)
    assert row["direction"] == "outgoing" and row["counterparty_id"] == people["client"], dict(row)
    assert row["caller_user_id"] == people["ivanova"]["id"], dict(row)
