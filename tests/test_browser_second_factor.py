"""Issue 17 (G4) in Chromium: setting up a second factor in the account (QR code, key as text,
a code to confirm, recovery codes), then logging in with a code; the same code again is refused."""

import time

import pyotp

from tests.helpers import PASSWORD, make_user


async def _password(page, url: str) -> None:
    await page.goto(url + "/login")
    await page.fill("input[name=login]", "petrov")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def test_set_up_a_second_factor_and_log_in_with_a_code(web_server, page, db):
    await make_user(db, "petrov", full_name="Pavel Petrov")
    await _password(page, web_server.url)
    await page.wait_for_selector("nav.top")

    await page.goto(web_server.url + "/account")
    await page.click("#second-factor-link")
    await page.click("#second-factor-start button")
    secret = (await page.inner_text("#totp-secret")).replace(" ", "")
    # The QR code is an image from our own origin: the CSP lets it load.
    # (No wait_for_function: its polling evaluates a string, which the CSP refuses.)
    width = await page.eval_on_selector("#totp-qr", """img => img.complete ? img.naturalWidth
        : new Promise((done) => { img.onload = img.onerror = () => done(img.naturalWidth); })""")
    assert width > 100
    await page.fill("#second-factor-confirm input[name=code]", pyotp.TOTP(secret).now())
    await page.click("#second-factor-confirm button")
    await page.wait_for_selector("#recovery-codes li")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    await page.click("#continue")
    assert "Recovery codes left: 10" in await page.inner_text("#second-factor-state")

    await page.click("text=Log out")
    await page.wait_for_selector("input[name=login]")  # the logout's own navigation ends first
    await _password(page, web_server.url)
    await page.wait_for_selector("#second-factor-form")
    assert page.url == web_server.url + "/login/second-factor"
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step's: enrolment spent this one
    await page.fill("input[name=code]", code)
    await page.click("#second-factor-form button[type=submit]")
    await page.wait_for_selector("nav.top")
    assert "Pavel Petrov" in await page.inner_text("nav.top")

    # The same code again, still within its window: refused.
    await page.click("text=Log out")
    await page.wait_for_selector("input[name=login]")  # the logout's own navigation ends first
    await _password(page, web_server.url)
    await page.fill("input[name=code]", code)
    await page.click("#second-factor-form button[type=submit]")
    assert "already been used" in await page.inner_text("[role=alert]")
    assert await page.locator("nav.top").count() == 0
