"""Preview dialling through Chromium (issue 22): an agent takes the next number, sees the client's
card and the order's script, asks for the call, and records how it went."""

import os

from tests.browser import WebServerProcess, logged_in_page
from tests.dial_world import dial_world
from tests.helpers import PASSWORD


async def test_an_agent_works_a_preview_number(db, database_url, chromium, tmp_path):
    w = await dial_world(db, mode="preview", status="running")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, name, counterparty_id,
                                                  order_row_id)
               VALUES ($1, '+7 916 111-00-01', '+79161110001', 'Sokolov', $2,
                       (SELECT id FROM order_rows WHERE row_key = 'a'))""", w["campaign"], w["sokolov"])
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "olga", PASSWORD)
        await page.goto(web.url + "/dial-campaigns/preview")
        await page.click("#preview-next")
        offer = page.locator("#preview-offer")
        await offer.wait_for()
        assert "+79161110001" in await page.locator("#preview-number").inner_text()
        assert "Hello, this is a survey" in await offer.inner_text()
        await page.click("#preview-call")
        await page.locator("#preview-calling").wait_for()
        await page.check('#preview-outcome input[value="no_answer"]')
        await page.fill('#preview-outcome textarea[name="note"]', "rang out")
        await page.click('#preview-outcome button[type="submit"]')
        await page.locator("#preview-next").wait_for()
        async with db.acquire() as conn:
            number = await conn.fetchrow("SELECT status, last_outcome, attempts FROM dial_campaign_numbers")
        assert (number["status"], number["last_outcome"], number["attempts"]) == ("pending", "no_answer", 1)
    finally:
        await web.close()
