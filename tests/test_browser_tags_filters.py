"""Tags and saved filters through Chromium (D1-D2, E1)."""

import os

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user


async def _login(chromium, web, login):
    return await logged_in_page(chromium, web.url, login, PASSWORD)


async def _names(page):
    return await page.locator("#counterparties tbody td:first-child a").all_inner_texts()


async def test_tag_a_client_find_the_rest_without_it_and_keep_the_filter_private(db, database_url, chromium,
                                                                                  tmp_path):
    await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    await make_user(db, "petrov", "manager", full_name="Pavel Petrov")
    async with db.acquire() as conn:
        belov = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Belov", responsible_user_id=ivanova["id"]), "RU")
        await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Chernov", responsible_user_id=ivanova["id"]), "RU")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        admin = await _login(chromium, web, "adm")
        await admin.goto(web.url + "/admin/tags")
        await admin.fill("#tag-form input[name=name]", "Regular")
        await admin.fill("#tag-form input[name=description]", "buys every month")
        await admin.click("#tag-form button[type=submit]")
        await admin.wait_for_selector("#tags >> text=Regular")

        page = await _login(chromium, web, "ivanova")
        await page.goto(f"{web.url}/counterparties/{belov}")
        await page.click("form.add-tag button[type=submit]")
        await page.wait_for_selector("#tag-list >> text=Regular")

        await page.goto(web.url + "/clients")
        await page.select_option("select[name=notag]", label="without tag Regular")
        await page.click("button:text('Find')")
        assert await _names(page) == ["Chernov"]
        await page.fill("form.save-filter input[name=name]", "Not regular yet")
        await page.click("form.save-filter button[type=submit]")
        await page.wait_for_selector("#saved-filters >> text=Not regular yet")

        await page.goto(web.url + "/clients")
        assert await _names(page) == ["Belov", "Chernov"]
        await page.click("#saved-filters >> text=Not regular yet")
        assert await _names(page) == ["Chernov"]
        await page.goto(web.url + "/clients?tag=" + await page.locator("select[name=tag] option",
                                                                        has_text="Regular").get_attribute("value"))
        assert await _names(page) == ["Belov"]

        # Petrov does not see Ivanova's filter, and cannot delete it.
        petrov = await _login(chromium, web, "petrov")
        await petrov.goto(web.url + "/clients")
        assert "Not regular yet" not in await petrov.inner_text("#saved-filters")
        async with db.acquire() as conn:
            filter_id = await conn.fetchval("SELECT id FROM saved_filters")
        status = await petrov.evaluate(f"""async () => (await fetch('/filters/{filter_id}/delete', {{method: 'POST',
            headers: {{'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}}}})).status""")
        assert status == 404

        # Ivanova deletes it.
        await page.click("#saved-filters button[title='Delete filter Not regular yet']")
        await page.wait_for_url(web.url + "/clients")
        assert "Not regular yet" not in await page.inner_text("#saved-filters")
    finally:
        await web.close()
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM saved_filters") == 0


async def test_a_tag_made_on_a_card_filtered_in_pairs_then_edited_and_deleted_by_the_admin(db, database_url, chromium,
                                                                                          tmp_path):
    """Issue 20 (D1, D2): the card's new-tag form, two "with" tags chosen at once, the admin's edit and the
    delete that asks first (app.js data-confirm)."""
    await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    async with db.acquire() as conn:
        belov = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Belov", responsible_user_id=ivanova["id"]), "RU")
        await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Chernov", responsible_user_id=ivanova["id"]), "RU")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await _login(chromium, web, "ivanova")
        for name in ("Wholesale", "Northern"):
            await page.goto(f"{web.url}/counterparties/{belov}")
            await page.click("details.new-tag summary")
            await page.fill("#new-tag-form input[name=name]", name)
            await page.check("#new-tag-form input[name=allowed_roles][value=manager]")
            await page.click("#new-tag-form button[type=submit]")
            await page.wait_for_selector(f"#tag-list >> text={name}")
        await page.goto(web.url + "/clients")
        await page.select_option("select[name=tag]", label=["with tag Northern", "with tag Wholesale"])
        await page.click("button:text('Find')")
        assert await _names(page) == ["Belov"]
        await page.select_option("select[name=tag]", [])
        await page.select_option("select[name=notag]", label=["without tag Northern", "without tag Wholesale"])
        await page.click("button:text('Find')")
        assert await _names(page) == ["Chernov"]

        admin = await _login(chromium, web, "adm")
        await admin.goto(web.url + "/admin/tags")
        row = admin.locator("#tags tbody tr", has_text="Wholesale")
        await row.locator("details.edit-tag summary").click()
        await row.locator("input[name=name]").fill("Bulk")
        await row.locator("button[type=submit]", has_text="Save").click()
        await admin.wait_for_selector("#tags >> text=Bulk")
        asked = []

        async def answer(dialog):
            asked.append(dialog.message)
            await dialog.accept()
        admin.on("dialog", answer)
        await admin.locator("#tags tbody tr", has_text="Bulk").locator("form.delete-tag button").click()
        await admin.wait_for_function("() => !document.querySelector('#tags').innerText.includes('Bulk')")
        assert asked and "Bulk" in asked[0]
    finally:
        await web.close()
    async with db.acquire() as conn:
        assert [r["name"] for r in await conn.fetch("SELECT name FROM tags")] == ["Northern"]
