"""Logging in and reading the calls page in Chromium."""

from tests.helpers import PASSWORD, make_user


async def test_login_in_the_browser_shows_the_calls(web_server, page, db):
    await make_user(db, "operator1", "operator", full_name="Olga Operator")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, line, started_at,
                                  ended_at, status)
               VALUES ('1.1', 'incoming', '84951234567', '74957654321', 'PJSIP/trunk',
                       now() - interval '1 minute', now(), 'missed')""")

    await page.goto(web_server.url + "/calls")
    assert "/login" in page.url  # sent to log in first, and back afterwards
    await page.fill("input[name=login]", "operator1")
    await page.fill("input[name=password]", "wrong password")
    await page.click("button[type=submit]")
    assert await page.inner_text("[role=alert]") == "Wrong login or password"

    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#calls")
    assert page.url == web_server.url + "/calls"
    row = await page.inner_text("#calls tbody tr")
    assert "84951234567" in row and "74957654321" in row and "missed" in row
    assert "Olga Operator" in await page.inner_text("nav")

    await page.click("text=Log out")
    await page.wait_for_selector("input[name=login]")
    await page.goto(web_server.url + "/calls")
    assert "/login" in page.url
