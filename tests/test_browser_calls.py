"""The Calls page in Chromium (issue 20; H1, H6, H7, E1): filters chosen in the form, a saved filter
followed, the recording played in the list, click-to-call from a number, the link to the call's page."""

import asyncio
import datetime as dt
import os
import subprocess

from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=2)


async def _rows(page) -> list[str]:
    return await page.locator("#calls tbody tr[data-id] td.caller").all_inner_texts()


async def test_filter_save_play_and_call_back_from_the_call_log(db, database_url, chromium, tmp_path):
    olga = await make_user(db, "olga", "operator", full_name="Olga Otvetova", extension="101")
    audio = tmp_path / "call.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    "-ac", "1", "-q:a", "9", str(audio)], check=True)
    async with db.acquire() as conn:
        calls = {}
        for i, (number, direction, status) in enumerate([("+74951230001", "incoming", "answered"),
                                                        ("+74951230002", "incoming", "missed"),
                                                        ("+74951230003", "outgoing", "answered")]):
            outgoing = direction == "outgoing"
            calls[number] = await conn.fetchval(
                """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number,
                                      called_normalized, started_at, answered_at, ended_at, status,
                                      operator_user_id, caller_user_id)
                   VALUES ($1, $2, $3, $3, $4, $4, $5::timestamptz, CASE WHEN $6 = 'answered' THEN $5 END,
                           $5::timestamptz + interval '1 minute', $6, $7, $8) RETURNING id""",
                f"bc.{i}", direction, "101" if outgoing else number, number if outgoing else "100",
                NOW + dt.timedelta(minutes=i), status, None if outgoing or status == "missed" else olga["id"],
                olga["id"] if outgoing else None)
        recording = await conn.fetchval("INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') "
                                        "RETURNING id", calls["+74951230001"], str(audio))
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "olga", PASSWORD)
        await page.goto(web.url + "/calls")
        assert len(await _rows(page)) == 3

        # Two statuses at once, then only incoming ones of them.
        await page.check("#filter-status input[value=missed]")
        await page.check("#filter-status input[value=answered]")
        await page.check("#filter-direction input[value=incoming]")
        await page.click("#call-filters button[type=submit]")
        await page.wait_for_url("**/calls?*")
        assert sorted(await _rows(page)) == ["+74951230001", "+74951230002"]
        await page.fill("form.save-filter input[name=name]", "Incoming, taken or not")
        await page.click("form.save-filter button[type=submit]")
        await page.wait_for_selector("#saved-filters >> text=Incoming, taken or not")
        await page.goto(web.url + "/calls")
        assert len(await _rows(page)) == 3
        await page.click("#saved-filters >> text=Incoming, taken or not")
        await page.wait_for_url("**/calls?*")
        assert sorted(await _rows(page)) == ["+74951230001", "+74951230002"]
        assert await page.is_checked("#filter-direction input[value=incoming]")

        # The recording she may hear plays in the list.
        player = page.locator(f"audio[data-recording='{recording}']")
        await player.evaluate("a => a.play()")
        await page.wait_for_function(f"() => document.querySelector(\"audio[data-recording='{recording}']\")"
                                     ".currentTime > 0.2")
        assert await page.locator("td.recording audio").count() == 1

        # Click-to-call from the caller's number: her phone is rung first (a request the PBX takes).
        await page.click("#calls button.call[data-call='+74951230002']")
        for _ in range(50):
            async with db.acquire() as conn:
                requested = await conn.fetchrow("SELECT user_id, extension, number FROM call_requests")
            if requested:
                break
            await asyncio.sleep(0.1)
        assert requested is not None and (requested["user_id"], requested["extension"], requested["number"]) == \
            (olga["id"], "101", "74951230002")

        # The call's own page, from its row.
        await page.click(f"#calls tr[data-id='{calls['+74951230002']}'] td:first-child a")
        await page.wait_for_url(f"{web.url}/calls/{calls['+74951230002']}")
    finally:
        await web.close()


async def test_the_counterparty_filter_is_chosen_as_one_types(db, web_server, chromium):
    """Issue 20: the calls page's counterparty filter searches as one types (counterparty_picker.js, the
    task form's picker); choosing filters at once, "Remove" shows every call again."""
    from crm.counterparties import service
    from crm.counterparties.model import CounterpartyInput

    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        zhukov = await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Zhukov",
                                                                    remark="pays late"), "RU")
        volkov = await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Volkov"), "RU")
        for i, (number, who) in enumerate([("+74951230001", zhukov), ("+74951230002", volkov),
                                           ("+74951230003", None)]):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, ended_at,
                                      status, counterparty_id)
                   VALUES ($1, 'incoming', $2, '100', $3::timestamptz, $3::timestamptz + interval '1 minute',
                           'missed', $4)""", f"pick.{i}", number, NOW + dt.timedelta(minutes=i), who)
    page = await logged_in_page(chromium, web_server.url, "boss", PASSWORD)
    await page.goto(web_server.url + "/calls")
    assert len(await _rows(page)) == 3
    assert not await page.is_visible("#filter-counterparty button.clear")
    await page.locator("#filter-counterparty input.find").press_sequentially("zhu", delay=30)
    result = page.locator("#filter-counterparty .counterparty-results button.choose")
    await result.first.wait_for()
    assert await result.all_inner_texts() == ["Zhukov"]
    assert "pays late" in await page.locator("#filter-counterparty .counterparty-results li").first.inner_text()
    await result.first.click()
    await page.wait_for_url(f"**/calls?*counterparty={zhukov}*")
    assert await _rows(page) == ["+74951230001"]
    assert await page.locator("#filter-counterparty .chosen").inner_text() == "Zhukov"

    # Enter takes the first match; then Remove lists every call again.
    await page.locator("#filter-counterparty input.find").press_sequentially("volk", delay=30)
    await result.first.wait_for()
    await page.locator("#filter-counterparty input.find").press("Enter")
    await page.wait_for_url(f"**/calls?*counterparty={volkov}*")
    assert await _rows(page) == ["+74951230002"]
    await page.click("#filter-counterparty button.clear")
    await page.wait_for_url(lambda url: f"counterparty={volkov}" not in url)
    await page.wait_for_load_state()
    assert len(await _rows(page)) == 3
