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
