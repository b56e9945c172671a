"""The task form's counterparty, searched as one types, through Chromium (C1, issue 20)."""

import os

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user


async def test_choose_change_and_remove_the_counterparty_as_one_types(db, database_url, chromium, tmp_path):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        zhukov = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov",
                                                                   remark="pays late"), "RU")
        vostok = await service.create(conn, mgr, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "mgr", PASSWORD)
        await page.goto(web.url + "/tasks/new")
        await page.fill("#task-form input[name=title]", "Send the offer")
        assert not await page.is_visible("#counterparty-clear")  # nothing to remove yet
        await page.locator("#counterparty-find").press_sequentially("zhu", delay=30)
        result = page.locator("#counterparty-results button.choose")
        await result.first.wait_for()
        assert await result.all_inner_texts() == ["Zhukov"]
        assert "pays late" in await page.locator("#counterparty-results li").first.inner_text()
        await result.first.click()
        assert await page.locator("#task-form input[name=counterparty_id]").input_value() == str(zhukov)
        assert await page.locator("#counterparty-chosen").inner_text() == "Zhukov"
        assert await page.is_visible("#counterparty-clear")
        await page.click("#task-form button[type=submit]")
        await page.wait_for_url("**/tasks/*")
        task = int(page.url.rsplit("/", 1)[1])
        # Changed to the company: typing and Enter takes the first match, without sending the form.
        await page.locator("#counterparty-find").press_sequentially("vost", delay=30)
        await result.first.wait_for()
        await page.locator("#counterparty-find").press("Enter")
        assert await page.locator("#task-form input[name=counterparty_id]").input_value() == str(vostok)
        assert page.url.endswith(f"/tasks/{task}")
        async with page.expect_navigation():
            await page.click("#task-form button[type=submit]")
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT counterparty_id FROM tasks WHERE id = $1", task) == vostok
        # Nothing found says so; Remove leaves the task without one.
        await page.locator("#counterparty-find").press_sequentially("nobody here", delay=10)
        await page.locator("#counterparty-results li.empty").wait_for()
        await page.click("#counterparty-clear")
        async with page.expect_navigation():
            await page.click("#task-form button[type=submit]")
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT counterparty_id FROM tasks WHERE id = $1", task) is None
    finally:
        await web.close()
