"""Attaching an SMS from an unknown number from the SMS list, searching the card as one types, through
Chromium (issue 21, A7)."""

import os

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user


async def test_attach_a_strangers_sms_to_the_card_found_as_one_types(db, database_url, chromium, tmp_path):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        zhukov = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov",
                                                                   remark="pays late"), "RU")
        await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhuravlev"), "RU")
        gateway = await conn.fetchval("INSERT INTO sms_gateways (name, kind) VALUES ('gw', 'smpp') RETURNING id")
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950000000', $1, true)",
                           gateway)
        first, _second = [await conn.fetchval(
            "INSERT INTO sms_messages (direction, phone, body, status) VALUES ('in', '+79167770011', $1, 'received') "
            "RETURNING id", body) for body in ("Who is this?", "Please call back")]
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "mgr", PASSWORD)
        await page.goto(web.url + "/sms?unattached=1")
        row = page.locator(f'#sms tr[data-id="{first}"]')
        await row.locator("summary").click()
        find = row.locator(".sms-attach-find")
        await find.press_sequentially("zhu", delay=30)
        choices = row.locator(".sms-attach-results button")
        await choices.nth(1).wait_for()
        assert sorted(await choices.all_inner_texts()) == ["Zhukov · pays late", "Zhuravlev"]
        await find.fill("")
        await find.press_sequentially("nobody", delay=10)
        await row.locator(".sms-attach-results li.empty").wait_for()
        await find.fill("")
        await find.press_sequentially("zhuk", delay=30)
        await choices.first.wait_for()  # the list said "nothing found" until this answer came
        assert await choices.all_inner_texts() == ["Zhukov · pays late"]
        async with page.expect_navigation():
            await choices.first.click()
        assert page.url == f"{web.url}/counterparties/{zhukov}#sms"
        async with db.acquire() as conn:
            on = await conn.fetch("SELECT counterparty_id FROM sms_messages")
            learned = await conn.fetchval("SELECT auto_added FROM contacts WHERE normalized = '+79167770011'")
        assert [m["counterparty_id"] for m in on] == [zhukov, zhukov] and learned is True
        # The card shows the learned number with its SMS icon to the chat.
        assert await page.locator(f'#contacts a.sms-link[href="/counterparties/{zhukov}#sms"]').count() == 1
    finally:
        await web.close()
