"""A card's timeline and Calls table (B1, B2, issue 20): the company's Calls table follows the
"own only" switch as the timeline does; e-mail is not offered until it exists (SMS is, issue 21)."""

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.helpers import csrf_from, login, make_user


async def _call(conn, channel: str, counterparty: int, comment: str) -> None:
    await conn.execute(
        """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status,
                              counterparty_id, comment)
           VALUES ($1, 'incoming', '84950000000', '100', now(), 'answered', $2, $3)""", channel, counterparty, comment)


def _calls_table(page: str) -> str:
    return page.split('id="card-calls"')[1].split("</table>")[0]


async def test_the_company_calls_table_follows_the_own_only_switch(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        company = await service.create(conn, mgr, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Lis",
                                                                   company_ids=(company,)), "RU")
        await _call(conn, "own.1", company, "")
        await _call(conn, "client.1", client, "")
        ids = {r["channel_id"]: r["id"] for r in await conn.fetch("SELECT id, channel_id FROM calls")}
    login(web, "mgr")
    everything = _calls_table(web.get(f"/counterparties/{company}").text)
    assert f'/calls/{ids["own.1"]}"' in everything and f'/calls/{ids["client.1"]}"' in everything
    own = _calls_table(web.get(f"/counterparties/{company}?own=1").text)
    assert f'/calls/{ids["own.1"]}"' in own and f'/calls/{ids["client.1"]}"' not in own
    # The switch posted with the timeline's filter keeps "own only" for both.
    page = web.get(f"/counterparties/{company}").text
    r = web.post(f"/counterparties/{company}/timeline-kinds",
                 data={"csrf_token": csrf_from(page), "kinds": ["note", "call", ""], "own": "1"}, follow_redirects=False)
    assert r.headers["location"] == f"/counterparties/{company}?own=1"
    assert f'/calls/{ids["client.1"]}"' not in _calls_table(web.get(r.headers["location"]).text)
    # A client's card has no switch and shows its own calls.
    assert f'/calls/{ids["client.1"]}"' in _calls_table(web.get(f"/counterparties/{client}").text)


async def test_all_its_calls_leads_to_the_calls_page_filtered_by_the_card(web, db):
    """Issue 20: "All its calls" under a card's Calls table opens the calls page filtered by that card."""
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        lis = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Lis"), "RU")
        volk = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Volk"), "RU")
        await _call(conn, "lis.1", lis, "about the fox")
        await _call(conn, "volk.1", volk, "about the wolf")
        ids = {r["channel_id"]: r["id"] for r in await conn.fetch("SELECT id, channel_id FROM calls")}
    login(web, "mgr")
    card = web.get(f"/counterparties/{lis}").text
    link = card.split('id="all-calls" href="')[1].split('"')[0]
    assert link == f"/calls?counterparty={lis}"
    assert "All its calls" in card.split('id="card-calls"')[0].split('class="calls"')[1]
    calls = web.get(link).text
    assert f'/calls/{ids["lis.1"]}"' in calls and f'/calls/{ids["volk.1"]}"' not in calls
    picker = calls.split('id="filter-counterparty"')[1].split("</fieldset>")[0]
    assert f'name="counterparty" value="{lis}"' in picker and ">Lis</a>" in picker


async def test_the_timeline_offers_only_kinds_that_can_show_something(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Lis"), "RU")
    login(web, "mgr")
    page = web.get(f"/counterparties/{client}").text
    form = page.split('id="timeline-kinds"')[1].split("</form>")[0]
    offered = [part.split('"')[0] for part in form.split('name="kinds" value="')[1:]]
    # E-mail (the card's filed messages) and web chats joined with issue 23, shop orders with issue 24;
    # the last: the empty choice that lets none be chosen.
    assert offered == ["note", "call", "sms", "email", "task", "chat", "shop_order", ""]
    # An unknown kind is dropped, never an error.
    r = web.post(f"/counterparties/{client}/timeline-kinds",
                 data={"csrf_token": csrf_from(page), "kinds": ["sms", "email", "fax", "note"]}, follow_redirects=False)
    assert r.status_code == 303
    form = web.get(f"/counterparties/{client}").text.split('id="timeline-kinds"')[1].split("</form>")[0]
    assert 'value="note" checked' in form and 'value="sms" checked' in form and 'value="task" checked' not in form
    assert 'value="email" checked' in form and 'value="fax"' not in form
    assert web.get(f"/counterparties/{client}?kinds=sms&kinds=email&kinds=fax").status_code == 200
