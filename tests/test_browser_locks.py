"""An admin sees a locked login in Chromium and lifts the lock (issue 17)."""

from tests.helpers import PASSWORD, make_user


async def test_an_admin_lifts_a_locked_login_in_the_browser(web_server, page, db):
    await make_user(db, "anna", "admin", full_name="Anna Admin")
    await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    async with db.acquire() as conn:  # nine failed logins a moment ago: 2^4 s to wait
        await conn.execute("INSERT INTO login_failures (scope, key, failures, last_failure_at) "
                           "VALUES ('login', 'petrov', 9, now())")

    await page.goto(web_server.url + "/login")
    await page.fill("input[name=login]", "anna")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(web_server.url + "/clients")
    await page.goto(web_server.url + "/admin/users")
    await page.click("#user-security >> text=Locked logins")
    row = await page.inner_text("#locks tbody tr")
    assert "login petrov (Pavel Petrov)" in row and "9" in row and "second" in row
    await page.click("#locks tbody tr >> button:has-text('Lift')")
    await page.wait_for_selector("[role=status]")
    assert "The lock is lifted" in await page.inner_text("[role=status]")
    assert await page.inner_text("#locks tbody") == "Nothing is locked."
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM login_failures") == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'login_lock'") == 1
