"""The dial campaign pages through Chromium (issue 22): the form filled and sent (an error shown by its
field, nothing typed lost), then the campaign's dashboard updating live as attempts are logged and its
drop rate going over the limit, without a reload."""

import os
import re

from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user


async def test_form_and_live_dashboard(db, database_url, chromium, tmp_path):
    await make_user(db, "boris", "supervisor", full_name="Boris Bossov")
    olga = await make_user(db, "olga", "operator", full_name="Olga Otvetova")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "boris", PASSWORD)
        await page.goto(web.url + "/dial-campaigns")
        await page.click("#new-dial-campaign")
        await page.fill("input[name=name]", "Spring calls")
        await page.select_option("select[name=mode]", "predictive")
        await page.check(f"input[name=agent_ids][value='{olga['id']}']")
        await page.fill("input[name=window_from]", "21")
        await page.fill("input[name=window_to]", "9")
        await page.fill("input[name=drop_limit]", "2")
        await page.click("#dial-campaign-form button[type=submit]")
        assert "calling hours run from 0 to 24" in await page.locator("#error-window_from").inner_text()
        assert await page.input_value("input[name=name]") == "Spring calls"
        assert await page.is_checked(f"input[name=agent_ids][value='{olga['id']}']")
        await page.fill("input[name=window_from]", "9")
        await page.fill("input[name=window_to]", "21")
        await page.click("#dial-campaign-form button[type=submit]")
        await page.wait_for_url(re.compile(r"/dial-campaigns/\d+$"))
        campaign_id = int(page.url.rsplit("/", 1)[1])
        assert await page.locator('[data-figure="outcomes.answered"]').inner_text() == "0"

        async with db.acquire() as conn:
            number = await conn.fetchval(
                "INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, status) "
                "VALUES ($1, '+79165550001', '+79165550001', 'done') RETURNING id", campaign_id)
            await conn.execute(
                "INSERT INTO dial_attempts (campaign_id, number_id, outcome, ended_at) "
                "SELECT $1, $2, o, now() FROM unnest(array['answered', 'answered', 'answered', 'dropped']) o",
                campaign_id, number)
        await page.locator('[data-figure="outcomes.answered"]', has_text=re.compile(r"^3$")).wait_for(timeout=6000)
        assert await page.locator('[data-figure="drop.rate"]').inner_text() == "25"
        assert await page.locator("#campaign-drop").get_attribute("data-over") == "true"
        assert await page.locator('[data-figure="progress.done"]').inner_text() == "1"
    finally:
        await web.close()
