"""The SMS campaign pages' script through Chromium (issue 21, I2): the text's preview as one types (an
unknown placeholder named), and the campaign's counts updating live while the runner queues it."""

import datetime as dt
import os
import re

from crm.sms.campaigns import queries as cq
from crm.sms.campaigns import recipients, runner
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD
from tests.sms_campaign_world import campaign_world


async def test_preview_as_one_types_and_live_progress(db, database_url, chromium, tmp_path):
    w = await campaign_world(db)
    async with db.acquire() as conn:
        campaign_id = await cq.create(conn, w["boris"], cq.CampaignInput("Live", "Hi {first_name}", window_from=0,
                                                                          window_to=24))
        await recipients.from_filter(conn, campaign_id, recipients.TagFilter((w["vip"],), (w["blocked"],)), "RU")
        await recipients.prepare(conn, campaign_id, "Europe/Moscow")
        await cq.act(conn, w["boris"], campaign_id, "submit")
        await cq.act(conn, w["boris"], campaign_id, "approve")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "boris", PASSWORD)
        await page.goto(web.url + "/sms/campaigns/new")
        body = page.locator("#campaign-body")
        await body.press_sequentially("Hello {first_name}, {manager}", delay=10)
        preview = page.locator("#campaign-preview")
        await page.locator("#campaign-preview", has_text="Ivan").wait_for()
        assert (await preview.inner_text()).startswith("Hello Ivan, Irina Petrova")
        await body.fill("")
        await body.press_sequentially("Hi {surname}", delay=10)
        await page.locator("#campaign-preview", has_text="surname").wait_for()
        assert "unknown placeholder {surname}" in await preview.inner_text()

        await page.goto(f"{web.url}/sms/campaigns/{campaign_id}")
        queued = page.locator('#campaign-progress dd[data-total="sending"]')
        assert await queued.inner_text() == "0"
        await runner.step(db, dt.datetime.now(dt.timezone.utc))
        await page.locator('#campaign-progress dd[data-total="sending"]', has_text=re.compile(r"^2$")).wait_for(
            timeout=5000)
        assert await page.locator("#campaign-status").inner_text() == "sending"
    finally:
        await web.close()
