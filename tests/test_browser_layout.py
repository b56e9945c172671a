"""Issue 14 on a phone (360 x 740) and on a desk (1400 px), in Chromium: no page scrolls sideways,
the top menu folds behind a button that opens it, list rows read as cards labelled from each
cell's data-label, forms take the screen's width, and the screen pop and click-to-call fit a
thumb (44 px). Wide, the menu and the tables are as they were. In Russian too: its words are longer.
"""

from __future__ import annotations

import pytest

from tests.site import PAGE_BY_NAME, PAGES, WALKERS, Site, address, logged_in_context, start_site

PHONE = (360, 740)
MAIN_PAGES = ["login", "clients", "client card", "client form", "tasks", "task", "calls", "call", "call statistics",
              "users"]
LIST_PAGES = ["clients", "companies", "client card", "company card", "tasks", "calls", "unknown callers",
              "call statistics", "deals report", "import", "import job", "users", "queues", "tags", "task types"]
LIST_PAGES += ["greetings", "IVR menus"]  # issue 15
LIST_PAGES += ["audit"]  # issue 17
LIST_PAGES += ["PBX nodes"]  # issue 26

# The list tables as the page lays them out: how each row and cell is displayed, and the label
# each cell's ::before shows (CSS gives content as a quoted string, or "none").
TABLES = """() => [...document.querySelectorAll("table.list")].map((table) => ({
  id: table.id || table.className,
  head: getComputedStyle(table.tHead || table).display,
  rows: [...table.tBodies].flatMap((b) => [...b.rows]).map((tr) => {
    const box = tr.getBoundingClientRect();
    return {
      display: getComputedStyle(tr).display, left: box.left, right: box.right, empty: !!tr.querySelector("td.empty"),
      cells: [...tr.cells].map((td) => ({
        label: td.getAttribute("data-label"), before: getComputedStyle(td, "::before").content,
        display: getComputedStyle(td).display, text: td.innerText.trim().slice(0, 40), blank: !td.hasChildNodes() })),
    };
  }),
}))"""

# Fields of the page's forms that take text, and the width of what holds them (their label, else the form).
FIELDS = """() => [...document.querySelectorAll("main form")].flatMap((form) =>
  [...form.querySelectorAll("input, select, textarea")]
    .filter((f) => !["hidden", "checkbox", "radio"].includes(f.type) && f.offsetParent !== null)
    .map((f) => ({ name: f.name || f.type, width: f.getBoundingClientRect().width,
                   right: f.getBoundingClientRect().right,
                   holder: (f.closest("label") || form).getBoundingClientRect().width })))"""

# What a thumb presses, shown, under 44 px tall.
SMALL_TARGETS = """(root) => [...document.querySelectorAll(root)].filter((e) => e.offsetParent !== null || e.closest('#screen-pop'))
  .map((e) => ({ what: e.outerHTML.slice(0, 80), height: e.getBoundingClientRect().height }))
  .filter((e) => e.height > 0 && e.height < 44)"""

SCROLL_WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture(scope="module")
async def site(pool, database_url, tmp_path_factory):
    site, server = await start_site(pool, database_url, tmp_path_factory.mktemp("layout"))
    yield site
    server.stop()


@pytest.fixture(scope="module")
async def contexts(chromium, site):
    opened: dict = {}
    yield opened
    for context, _ in opened.values():
        await context.close()


async def phone_page(contexts, chromium, site: Site, walker_name: str, size=PHONE):
    key = (walker_name, size)
    if key not in contexts:
        contexts[key] = await logged_in_context(chromium, site, WALKERS[walker_name], *size)
    return contexts[key][1]


async def open_page(contexts, chromium, site: Site, walker_name: str, name: str, size=PHONE):
    target = PAGE_BY_NAME[name]
    walker = WALKERS[walker_name]
    if target.anonymous:
        context = await chromium.new_context(locale=walker.browser, viewport=dict(width=size[0], height=size[1]),
                                             extra_http_headers={"Accept-Language": walker.browser})
        contexts[("anonymous", walker_name, size, len(contexts))] = (context, None)
        page = await context.new_page()
    else:
        page = await phone_page(contexts, chromium, site, walker_name, size)
    response = await page.goto(address(target, site, walker))
    assert response.status == (404 if target.route is None else 200), name
    return page


async def nav_links_visible(page) -> list[bool]:
    return await page.evaluate("[...document.querySelectorAll('nav.top > a')].map((a) => a.offsetParent !== null "
                               "&& a.getBoundingClientRect().height > 0)")


@pytest.mark.parametrize("name", MAIN_PAGES)
@pytest.mark.parametrize("walker_name", ["ru-browser", "en"])
async def test_a_main_page_on_a_phone(walker_name, name, site, contexts, chromium):
    page = await open_page(contexts, chromium, site, walker_name, name)
    assert await page.evaluate(SCROLL_WIDTH) <= PHONE[0], f"{name} scrolls sideways"

    if not PAGE_BY_NAME[name].anonymous:
        # The menu is folded: the brand and the button show, the links do not, until the button is pressed.
        menu = page.locator("button.menu-toggle")
        assert await menu.is_visible() and await menu.get_attribute("aria-expanded") == "false"
        assert (await menu.bounding_box())["height"] >= 44
        assert await page.is_visible("nav.top .brand")
        assert not any(await nav_links_visible(page))
        await menu.click()
        assert await menu.get_attribute("aria-expanded") == "true"
        assert all(await nav_links_visible(page))
        assert await page.evaluate(SCROLL_WIDTH) <= PHONE[0], f"{name} scrolls sideways with the menu open"
        assert await page.evaluate(SMALL_TARGETS, "nav.top > a, nav.top button") == []
        await page.keyboard.press("Escape")
        assert await menu.get_attribute("aria-expanded") == "false"
        assert not any(await nav_links_visible(page))

    # List rows are cards: each cell a block, labelled by its data-label, inside the screen.
    for table in await page.evaluate(TABLES):
        assert table["head"] == "none", table["id"]
        assert table["rows"], f"{name}: table {table['id']} has no rows to show"
        for row in table["rows"]:
            assert row["display"] == "block" and 0 <= row["left"] and row["right"] <= PHONE[0], (table["id"], row)
            for cell in row["cells"]:
                assert cell["display"] == ("none" if cell["blank"] else "flow-root"), (table["id"], cell)
                if cell["label"]:
                    assert cell["before"] == f'"{cell["label"]}"', (table["id"], cell)

    # Fields take the form's width, and nothing pressable is smaller than a thumb.
    for field in await page.evaluate(FIELDS):
        assert field["width"] >= field["holder"] - 2 and field["right"] <= PHONE[0], field
    assert await page.evaluate(SMALL_TARGETS, "main button, main a.button") == []


@pytest.mark.parametrize("name", LIST_PAGES)
async def test_every_list_cell_has_a_label(name, site, contexts, chromium):
    """A card reads "label: value" only where the template gave the cell its data-label."""
    page = await open_page(contexts, chromium, site, "ru-browser", name)
    tables = await page.evaluate(TABLES)
    assert tables, f"{name} has no list table"
    unlabelled = [f"{t['id']}: {c['text']!r}" for t in tables for r in t["rows"] if not r["empty"]
                  for c in r["cells"] if c["label"] is None and not c["blank"]]  # data-label="": no heading, on purpose
    assert unlabelled == [], f"{name}: cells without data-label"


@pytest.mark.parametrize("name", [p.name for p in PAGES])
async def test_every_page_fits_a_phone(name, site, contexts, chromium):
    page = await open_page(contexts, chromium, site, "ru-browser", name)
    width = await page.evaluate(SCROLL_WIDTH)
    wide = await page.evaluate("""() => [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > 361 && getComputedStyle(e).position !== "fixed")
        .slice(0, 5).map((e) => e.outerHTML.slice(0, 100))""")
    assert width <= PHONE[0], f"{name} is {width} px wide: {wide}"


@pytest.mark.parametrize("name", ["clients", "client card", "tasks", "calls", "users"])
async def test_wide_screens_keep_the_menu_and_the_tables(name, site, contexts, chromium):
    page = await open_page(contexts, chromium, site, "ru-browser", name, size=(1400, 900))
    assert not await page.is_visible("button.menu-toggle")
    assert all(await nav_links_visible(page))
    middles = await page.evaluate("[...document.querySelectorAll('nav.top > a')].map((a) => "
                                  "Math.round(a.getBoundingClientRect().top + a.getBoundingClientRect().height / 2))")
    assert max(middles) - min(middles) <= 1, "the menu is one row"
    for table in await page.evaluate(TABLES):
        assert table["head"] == "table-header-group", table["id"]
        for row in table["rows"]:
            assert row["display"] == "table-row"
            assert {c["display"] for c in row["cells"]} == {"table-cell"}
            assert {c["before"] for c in row["cells"]} == {"none"}


async def test_the_screen_pop_and_click_to_call_fit_a_phone(site, contexts, chromium, pool):
    from crm.pops.events import PopEvent, notify

    walker = WALKERS["ru-browser"]
    me = site.users[walker.login]
    page = await open_page(contexts, chromium, site, "ru-browser", "client card")
    await page.wait_for_selector("body[data-pops=ready]", state="attached")

    # A known caller: the card's name, the last interactions, the comment box, all within the screen.
    async with pool.acquire() as conn:
        await notify(conn, PopEvent(me["id"], "ringing", "walk-1", "incoming", "+7 495 123-45-67",
                                    site.ids["client"], "Соколов Иван Петрович"))
    await page.wait_for_selector("#screen-pop ul.recent")
    box = await page.locator("#screen-pop").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0] and box["width"] >= PHONE[0] - 24
    assert box["y"] + box["height"] <= PHONE[1]
    assert await page.evaluate(SMALL_TARGETS, "#screen-pop button, #screen-pop a") == []
    note = await page.locator("#screen-pop textarea").bounding_box()
    assert note["x"] >= box["x"] and note["x"] + note["width"] <= box["x"] + box["width"]
    await page.fill("#screen-pop textarea", "Просит перезвонить")
    await page.click("#screen-pop .save-comment")
    await page.wait_for_selector("#screen-pop .saved:not(:empty)")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT comment FROM calls WHERE channel_id = 'walk-1'") == "Просит перезвонить"

    # An unknown caller: the search, its results and their Attach buttons fit too.
    async with pool.acquire() as conn:
        await notify(conn, PopEvent(me["id"], "ringing", "walk-4", "incoming", "+7 903 111-22-33", None, ""))
    await page.wait_for_selector("#screen-pop input[type=search]")
    await page.fill("#screen-pop input[type=search]", "Соколов")
    await page.click("#screen-pop input[type=search] + button")  # Find
    await page.wait_for_selector("#screen-pop .attach-results button.attach")
    assert await page.evaluate(SMALL_TARGETS, "#screen-pop button, #screen-pop a") == []
    rights = await page.evaluate("[...document.querySelectorAll('#screen-pop *')].map((e) => "
                                 "e.getBoundingClientRect().right)")
    assert max(rights) <= PHONE[0]
    await page.click("#screen-pop header button")
    assert await page.is_hidden("#screen-pop")

    # Click-to-call: the number is a thumb-sized button; pressing it asks the PBX to ring my phone.
    call = page.locator("#contacts button[data-call]").first
    await call.scroll_into_view_if_needed()
    button = await call.bounding_box()
    assert button["height"] >= 44 and button["x"] + button["width"] <= PHONE[0]
    await call.click()
    await page.wait_for_selector("#contacts button[data-call].calling")
    async with pool.acquire() as conn:
        request = await conn.fetchrow("SELECT * FROM call_requests ORDER BY id DESC LIMIT 1")
    assert request["extension"] == walker.extension and request["number"] == "74951234567"
    assert await page.evaluate(SCROLL_WIDTH) <= PHONE[0]
