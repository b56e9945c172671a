"""The SMS list's filters in Chromium (issue 21, consistent with the calls page of issue 20): the
counterparty is chosen by searching as one types (_counterparty_picker.html + counterparty_picker.js)."""

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user


async def _phones(page) -> list[str]:
    return await page.locator("#sms tbody tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.phone)")


async def test_the_sms_lists_counterparty_filter_is_chosen_as_one_types(db, web_server, chromium):
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        zhukov = await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Zhukov",
                                                                    remark="pays late"), "RU")
        volkov = await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Volkov"), "RU")
        for i, (phone, direction, who) in enumerate([
                ("+79160000001", "in", zhukov), ("+79160000002", "out", zhukov), ("+79160000003", "in", volkov),
                ("+79160000004", "in", None)]):
            await conn.execute(
                "INSERT INTO sms_messages (direction, phone, body, status, counterparty_id, created_at) "
                "VALUES ($1, $2, 'hello', 'received', $3, now() - make_interval(mins => $4))",
                direction, phone, who, 10 - i)
    page = await logged_in_page(chromium, web_server.url, "boss", PASSWORD)
    await page.goto(web_server.url + "/sms?direction=in")
    assert sorted(await _phones(page)) == ["+79160000001", "+79160000003", "+79160000004"]
    box = page.locator("#filter-counterparty")
    assert not await box.locator("button.clear").is_visible()
    await box.locator("input.find").press_sequentially("zhu", delay=30)
    result = box.locator(".counterparty-results button.choose")
    await result.first.wait_for()
    assert await result.all_inner_texts() == ["Zhukov"]
    assert "pays late" in await box.locator(".counterparty-results li").first.inner_text()
    await result.first.click()  # sends the form at once, with the other filters in it
    await page.wait_for_url(f"**/sms?*counterparty={zhukov}*")
    assert "direction=in" in page.url
    assert await _phones(page) == ["+79160000001"]
    assert await box.locator(".chosen").inner_text() == "Zhukov"

    # Nothing found says so; Enter takes the first match; Remove lists every message again.
    await box.locator("input.find").press_sequentially("nobody here", delay=10)
    await box.locator(".counterparty-results li.empty").wait_for()
    await box.locator("input.find").fill("")
    await box.locator("input.find").press_sequentially("volk", delay=30)
    await result.first.wait_for()
    await box.locator("input.find").press("Enter")
    await page.wait_for_url(f"**/sms?*counterparty={volkov}*")
    assert await _phones(page) == ["+79160000003"]
    await box.locator("button.clear").click()
    await page.wait_for_url(lambda url: f"counterparty={volkov}" not in url)
    await page.wait_for_load_state()
    assert sorted(await _phones(page)) == ["+79160000001", "+79160000003", "+79160000004"]
