"""Screen pop (H5, issue 20): "Create new client" from the pop of an unknown number attaches the call to
the new card (audited), and the pop's search finds companies as well as clients."""

from __future__ import annotations

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.pops.events import PopEvent, notify
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, csrf_from, login, make_user

STRANGER = "84997654321"


async def _stranger_call(db, operator_id: int, channel: str = "pop.1", number: str = STRANGER) -> int:
    async with db.acquire() as conn:
        return await conn.fetchval(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number, started_at,
                                  status, operator_user_id)
               VALUES ($1, 'incoming', $2, '+7' || substr($2, 2), '100', now(), 'answered', $3) RETURNING id""",
            channel, number, operator_id)


async def test_a_client_created_from_the_pop_gets_the_call(db, web):
    olga = await make_user(db, "olga", "manager", full_name="Olga Orlova")
    call_id = await _stranger_call(db, olga["id"])
    login(web, "olga")
    form = web.get(f"/counterparties/new?kind=client&phones={STRANGER}&call_channel=pop.1").text
    assert 'name="call_channel" value="pop.1"' in form and 'id="attach-call-hint"' in form
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "Zotov",
                                              "phones": STRANGER, "status": "active", "call_channel": "pop.1"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT counterparty_id FROM calls WHERE id = $1", call_id) == new_id
        changes = await conn.fetchval(
            "SELECT changes FROM audit_log WHERE entity = 'call' AND entity_id = $1 AND action = 'attach'", call_id)
    assert str(new_id) in changes
    assert f'href="/calls/{call_id}"' in web.get(f"/counterparties/{new_id}").text  # on the new card

    # A call that is not (yet) in the log: the form again, and no card made without its call.
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "Yashin",
                                              "status": "active", "call_channel": "nosuch.9"})
    assert r.status_code == 404 and 'name="call_channel" value="nosuch.9"' in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties WHERE last_name = 'Yashin'") == 0


async def test_the_pop_finds_companies_and_creates_a_client_with_the_call(db, web_server, chromium):
    olga = await make_user(db, "olga", "manager", full_name="Olga Orlova")
    async with db.acquire() as conn:
        company = await service.create(conn, olga, CounterpartyInput(
            kind="company", company_name="Sokolniki Trading", responsible_user_id=olga["id"]), "RU")
        await service.create(conn, olga, CounterpartyInput(
            kind="client", last_name="Sokolov", responsible_user_id=olga["id"]), "RU")
    call_id = await _stranger_call(db, olga["id"])
    page = await logged_in_page(chromium, web_server.url, "olga", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(olga["id"], "answered", "pop.1", "incoming", STRANGER, None, ""))
    await page.fill("#screen-pop input[type=search]", "Sokol")
    await page.click("#screen-pop button:text('Find')")
    await page.wait_for_selector("#screen-pop li.kind-company")
    found = await page.inner_text("#screen-pop .attach-results")
    assert "Sokolniki Trading" in found and "Sokolov" in found
    await page.click("#screen-pop li.kind-company button.attach")
    await page.wait_for_selector("#screen-pop .attached")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT counterparty_id FROM calls WHERE id = $1", call_id) == company

    # The next unknown caller: a new client from the pop takes the call with it.
    second = await _stranger_call(db, olga["id"], "pop.2", "84951110000")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(olga["id"], "answered", "pop.2", "incoming", "84951110000", None, ""))
    await page.wait_for_selector("#screen-pop[data-channel='pop.2']")
    await page.click("#screen-pop a.create-client")
    await page.fill("input[name=last_name]", "Zotov")
    await page.click("form.card-form button[type=submit]")
    await page.wait_for_url(lambda url: url.rsplit("/", 1)[-1].isdigit())
    async with db.acquire() as conn:
        owner = await conn.fetchval("SELECT counterparty_id FROM calls WHERE id = $1", second)
        assert await conn.fetchval("SELECT last_name FROM counterparties WHERE id = $1", owner) == "Zotov"
