"""Issue 3 through Chromium: companies, clients, phones, duplicates, search, section names."""

from tests.helpers import PASSWORD, make_user


async def _login(page, base, login):
    await page.goto(base + "/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/clients")


async def _add_contact(page, kind, value):
    await page.select_option("form.add-contact select[name=kind]", kind)
    await page.fill("form.add-contact input[name=value]", value)
    await page.click("form.add-contact button[type=submit]")


async def test_company_clients_phones_duplicates_search_and_section_rename(web_server, page, db):
    base = web_server.url
    await make_user(db, "admin", "admin", full_name="Alla Admin")
    await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    await _login(page, base, "admin")

    # A company.
    await page.click("text=Companies")
    await page.click("text=New")
    await page.fill("input[name=company_name]", "Romashka LLC")
    await page.fill("input[name=remark]", "wholesale, pays late")
    await page.select_option("select[name=responsible_user_id]", label="Irina Ivanova")
    await page.click("button:text('Save')")
    await page.wait_for_selector("article.card-company")
    assert await page.inner_text("h1") == "Romashka LLC"
    company_url = page.url

    # Two clients in it, created from the company card.
    for last, first, patronymic in [("Petrov", "Ivan", "Sergeevich"), ("Sidorova", "Anna", "Mikhailovna")]:
        await page.goto(company_url)
        await page.click("text=New client here")
        await page.fill("input[name=last_name]", last)
        await page.fill("input[name=first_name]", first)
        await page.fill("input[name=patronymic]", patronymic)
        await page.click("button:text('Save')")
        await page.wait_for_selector("article.card-client")
        assert "Romashka LLC" in await page.inner_text("#companies")
    sidorova_url = page.url

    await page.goto(company_url)
    members = await page.inner_text("#members")
    assert "Petrov Ivan Sergeevich" in members and "Sidorova Anna Mikhailovna" in members

    # Phones in three written forms on Petrov's card; each is stored as E.164.
    await page.click("text=Petrov Ivan Sergeevich")
    petrov_url = page.url
    for written in ["8 (495) 123-45-67", "+7 916 555 44 33", "74997776655"]:
        await _add_contact(page, "phone", written)
        await page.wait_for_selector(f"#contacts >> text={written}")
    contacts = await page.inner_text("#contacts")
    assert "+74951234567" in contacts and "+74997776655" in contacts

    # The same number written another way, on another card: refused, naming the owner.
    await page.goto(sidorova_url)
    await _add_contact(page, "phone", "+7 495 123 45 67")
    alert = await page.inner_text("[role=alert]")
    assert "already belongs to client Petrov Ivan Sergeevich" in alert
    assert "123 45 67" not in await page.inner_text("#contacts")

    # Find a client by a part of the patronymic, and by a part of a phone number.
    await page.goto(base + "/clients")
    await page.fill("input[name=q]", "mikhail")
    await page.click("button:text('Find')")
    names = await page.inner_text("#counterparties tbody")
    assert "Sidorova Anna Mikhailovna" in names and "Petrov" not in names
    await page.fill("input[name=q]", "555-44")
    await page.click("button:text('Find')")
    names = await page.inner_text("#counterparties tbody")
    assert "Petrov Ivan Sergeevich" in names and "Sidorova" not in names
    # The remark shows beside the name in lists.
    await page.goto(base + "/companies")
    assert "wholesale, pays late" in await page.inner_text("#counterparties tbody")

    # Collapse a card and reopen it from another section.
    await page.goto(petrov_url)
    await page.click("button:text('Collapse')")
    await page.goto(base + "/calls")
    await page.click("nav.tray >> text=Petrov Ivan Sergeevich")
    await page.wait_for_url(petrov_url)

    # Rename the Companies section; every page follows.
    await page.click("nav.top >> text=Settings")
    await page.fill("input[name=section_companies]", "Regions")
    await page.click("button:text('Save')")
    await page.goto(base + "/clients")
    nav = await page.inner_text("nav.top")
    assert "Regions" in nav and "Companies" not in nav
    await page.click("nav.top >> text=Regions")
    assert await page.inner_text("h1 >> nth=0") == "Regions 1"
