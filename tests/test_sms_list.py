"""The SMS list (issue 21, I1, A7): every filter, who sees which message in the list, its count, its JSON
and its export, attaching a message from an unknown number (to a card or a new one) with the number
learned, and the SMS icon beside phone numbers."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from crm import appsettings, tags
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.sms import listing
from tests.helpers import csrf_from, log_in_as, make_user

MSK = dt.timezone(dt.timedelta(hours=3))


@pytest.fixture
async def world(db):
    """Seven messages over four days: with Sokolov (tagged Gold-7), Orlova (in a company), a deleted
    card, and two strangers; through two gateways and two sending numbers."""
    people = {n: await make_user(db, n, role, full_name=full) for n, role, full in (
        ("anna", "admin", "Anna Admina"), ("boss", "supervisor", "Boris Bossov"),
        ("olga", "operator", "Olga Otvetova"), ("irina", "manager", "Irina Menedzherova"),
        ("misha", "manager", "Misha Drugov"))}
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, people["anna"]["id"], ["operator", "manager", "supervisor", "admin"])
        sokolov = await service.create(conn, people["irina"], CounterpartyInput(
            kind="client", last_name="Sokolovsky", remark="pays late", responsible_user_id=people["irina"]["id"]),
            "RU")
        company = await service.create(conn, people["irina"], CounterpartyInput(kind="company",
                                                                                company_name="Vostok-Trade 12"), "RU")
        orlova = await service.create(conn, people["irina"], CounterpartyInput(kind="client", last_name="Orlovskaya",
                                                                               company_ids=(company,)), "RU")
        ghost = await service.create(conn, people["irina"], CounterpartyInput(kind="client", last_name="Ghostly"), "RU")
        await service.delete(conn, people["anna"], ghost)
        gold = await tags.save_tag(conn, people["anna"]["id"], None, tags.TagInput("Gold-7"))
        await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)", sokolov, gold)
        g1 = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ('Provider One', 'smpp', "
                                 "'{}') RETURNING id")
        g2 = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ('Webby', 'http', '{}') "
                                 "RETURNING id")
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES "
                           "('+74950005555', $1, true), ('+74950006666', $2, false)", g1, g2)
        olga, irina = people["olga"]["id"], people["irina"]["id"]
        rows = [  # key, local time, direction, phone, card, author, gateway, own number, status, text
            ("k1", "2026-11-02 10:00", "out", "+79161110001", sokolov, olga, g1, "+74950005555", "delivered",
             "Your order is ready"),
            ("k2", "2026-11-02 11:00", "in", "+79161110001", sokolov, None, g1, "+74950005555", "received",
             "Thanks, coming"),
            ("k3", "2026-11-03 09:00", "out", "+79161110003", orlova, irina, g2, "+74950006666", "failed",
             "Invoice sent"),
            ("u1", "2026-11-03 12:00", "in", "+79162220009", None, None, g1, "+74950005555", "received",
             "Who is this? Call me"),
            ("u2", "2026-11-04 08:30", "in", "+79162220009", None, None, g1, "+74950005555", "received",
             "Hello again"),
            ("u3", "2026-11-04 09:00", "out", "+79163330000", None, olga, g1, "+74950005555", "queued",
             "Test to a stranger"),
            ("d1", "2026-11-01 10:00", "in", "+79164440000", ghost, None, g2, "+74950006666", "received",
             "Ghost text"),
        ]
        messages = {}
        for key, at, direction, phone, cp, author, gateway, own, status, body in rows:
            messages[key] = await conn.fetchval(
                """INSERT INTO sms_messages (direction, phone, counterparty_id, user_id, gateway_id, own_number,
                                             status, body, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
                direction, phone, cp, author, gateway, own, status, body,
                dt.datetime.fromisoformat(at).replace(tzinfo=MSK))
    return {**people, "m": messages, "sokolov": sokolov, "company": company, "orlova": orlova, "ghost": ghost,
            "gold": gold, "g1": g1, "g2": g2}


def _attach(web, message_id: int, counterparty_id: int):
    return web.post(f"/api/sms/{message_id}/counterparty", json={"counterparty_id": counterparty_id},
                    headers={"X-CSRF-Token": web.cookies["pbxcrm_csrf"]})


def _keys(web, world, params=None) -> list[str]:
    r = web.get("/api/sms", params=params or {})
    assert r.status_code == 200, r.text
    by_id = {v: k for k, v in world["m"].items()}
    data = r.json()
    assert data["total"] == len(data["messages"]) and data["total_capped"] is False
    return [by_id[m["id"]] for m in data["messages"]]


ALL = ["u3", "u2", "u1", "k3", "k2", "k1", "d1"]


async def test_each_filter_alone_and_together(web, world):
    log_in_as(web, "boss")
    w = world
    assert _keys(web, w) == ALL
    assert _keys(web, w, {"from": "2026-11-03", "to": "2026-11-03"}) == ["u1", "k3"]
    assert _keys(web, w, {"from": "2026-11-04"}) == ["u3", "u2"]  # the centre's day: 08:30 Moscow is the 4th
    assert _keys(web, w, {"direction": "out"}) == ["u3", "k3", "k1"]
    assert _keys(web, w, {"status": ["failed", "queued"]}) == ["u3", "k3"]
    assert _keys(web, w, {"author": w["olga"]["id"]}) == ["u3", "k1"]
    assert _keys(web, w, {"author": [w["olga"]["id"], w["irina"]["id"]]}) == ["u3", "k3", "k1"]
    assert _keys(web, w, {"own": "+74950006666"}) == ["k3", "d1"]
    assert _keys(web, w, {"gateway": w["g2"]}) == ["k3", "d1"]
    assert _keys(web, w, {"number": "8 (916) 222-00-09"}) == ["u2", "u1"]
    assert _keys(web, w, {"counterparty": w["sokolov"]}) == ["k2", "k1"]
    assert _keys(web, w, {"counterparty": w["company"]}) == ["k3"]  # a company's: its clients' too
    assert _keys(web, w, {"tag": w["gold"]}) == ["k2", "k1"]
    assert _keys(web, w, {"notag": w["gold"]}) == ["u3", "u2", "u1", "k3", "d1"]
    assert _keys(web, w, {"unattached": "1"}) == ["u3", "u2", "u1"]
    assert _keys(web, w, {"q": "CALL me"}) == ["u1"]
    assert _keys(web, w, {"q": "916 111"}) == ["k3", "k2", "k1"]
    assert _keys(web, w, {"direction": "in", "unattached": "1", "from": "2026-11-04"}) == ["u2"]
    assert _keys(web, w, {"direction": "sideways"}) == ALL
    assert web.get("/api/sms", params={"from": "2026-11-04", "to": "2026-11-01"}).status_code == 400


async def test_the_page_shows_filters_rows_and_links(web, world):
    log_in_as(web, "boss")
    page = web.get("/sms", params={"direction": "in", "gateway": world["g1"]}).text
    assert "3 messages" in page and "Hello again" in page and "Invoice sent" not in page
    assert 'value="in" checked' in page and f'value="{world["g1"]}" selected' in page
    assert f'href="/counterparties/{world["sokolov"]}#sms"' in page
    assert '#sms">Sokolovsky</a> <span class="remark">pays late</span>' in page  # the remark beside the name (A5)
    assert f'id="export" href="/sms.xlsx?direction=in&amp;gateway={world["g1"]}"' in page
    assert f'action="/sms/{world["m"]["u1"]}/attach"' in page  # a supervisor attaches
    of_one = web.get("/sms", params={"counterparty": world["sokolov"], "tag": world["gold"]}).text
    picker = of_one.split('id="filter-counterparty"')[1].split("</fieldset>")[0]  # _counterparty_picker.html
    assert f'name="counterparty" value="{world["sokolov"]}"' in picker and "Sokolovsky" in picker
    tags = of_one.split('name="tag"')[1].split("</select>")[0]  # _tag_filters.html
    assert f'<option value="{world["gold"]}" selected>' in tags


async def test_the_count_is_capped(web, world, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    log_in_as(web, "boss")
    data = web.get("/api/sms", params={"size": 2}).json()
    assert (data["total"], data["total_capped"], len(data["messages"])) == (3, True, 2)
    assert "3 messages+" in web.get("/sms", params={"size": 2}).text


def _exported(web, params=None) -> list[str]:
    r = web.get("/sms.xlsx", params=params or {})
    assert r.status_code == 200, r.text
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("When", "Direction", "Number")
    return [r[5] for r in rows[1:]]


async def test_who_sees_which_message_in_the_list_count_json_and_export(web, world, db):
    w = world
    # An operator: messages on live cards, and on no card only the ones she wrote; no attaching.
    log_in_as(web, "olga")
    assert _keys(web, w) == ["u3", "k3", "k2", "k1"]
    assert _keys(web, w, {"unattached": "1"}) == ["u3"]
    assert _exported(web) == ["Test to a stranger", "Invoice sent", "Thanks, coming", "Your order is ready"]
    page = web.get("/sms").text
    assert "4 messages" in page and "Hello again" not in page and "/attach" not in page
    # A manager attaches unknown senders: he sees their incoming messages, not others' outgoing ones.
    log_in_as(web, "irina")
    assert _keys(web, w) == ["u2", "u1", "k3", "k2", "k1"]
    assert _exported(web, {"direction": "in"}) == ["Hello again", "Who is this? Call me", "Thanks, coming"]
    # The deleted card's message: supervisors and admins only.
    log_in_as(web, "boss")
    assert "d1" in _keys(web, w) and "Ghost text" in _exported(web)
    async with db.acquire() as conn:
        audits = await conn.fetch("SELECT user_id, changes FROM audit_log WHERE entity = 'export' "
                                  "AND action = 'sms list'")
    assert len(audits) == 3 and any("direction=in" in a["changes"] for a in audits)


async def test_the_export_is_for_the_export_roles(web, world, db):
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, world["anna"]["id"], ["supervisor", "admin"])
    log_in_as(web, "irina")
    assert web.get("/sms.xlsx").status_code == 403
    assert 'id="export"' not in web.get("/sms").text


async def test_attach_moves_the_numbers_messages_and_learns_it(web, world, db):
    w = world
    log_in_as(web, "olga")  # operators do not attach
    assert _attach(web, w["m"]["u1"], w["orlova"]).status_code == 403
    log_in_as(web, "misha")  # a manager only onto a card he may edit: Sokolov is Irina's
    assert _attach(web, w["m"]["u1"], w["sokolov"]).status_code == 403
    r = _attach(web, w["m"]["u1"], w["orlova"])
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == 2 and "+79162220009 added to the card" in r.json()["number"]
    async with db.acquire() as conn:
        on = {r["id"]: r["counterparty_id"] for r in await conn.fetch("SELECT id, counterparty_id FROM sms_messages")}
        contact = await conn.fetchrow("SELECT counterparty_id, auto_added, note FROM contacts "
                                      "WHERE normalized = '+79162220009'")
        audits = {r["action"]: r["changes"] for r in await conn.fetch(
            "SELECT action, changes FROM audit_log WHERE entity IN ('sms', 'counterparty') "
            "AND user_id = $1", w["misha"]["id"])}
    assert on[w["m"]["u1"]] == on[w["m"]["u2"]] == w["orlova"] and on[w["m"]["u3"]] is None
    assert (contact["counterparty_id"], contact["auto_added"]) == (w["orlova"], True)
    assert "attach" in audits and "learn number from sms" in audits and "+79162220009" in audits["attach"]
    # Once on a card it is not attached again; an outgoing message is no sender to attach.
    assert _attach(web, w["m"]["u2"], w["orlova"]).status_code == 409
    log_in_as(web, "boss")
    assert _attach(web, w["m"]["u3"], w["orlova"]).status_code == 404
    # The card shows the learned number, with the SMS icon to its chat.
    card = web.get(f"/counterparties/{w['orlova']}").text
    assert "+79162220009" in card and f'href="/counterparties/{w["orlova"]}#sms"' in card


async def test_attach_to_a_new_card_from_the_list(web, world, db):
    log_in_as(web, "irina")
    page = web.get("/sms", params={"unattached": "1"}).text
    r = web.post(f"/sms/{world['m']['u2']}/attach-new", data={"last_name": "Neznakomov", "first_name": "Pyotr",
                                                              "csrf_token": csrf_from(page)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        new = await conn.fetchrow("SELECT id, display_name, created_by FROM counterparties WHERE last_name = 'Neznakomov'")
        on = await conn.fetch("SELECT counterparty_id FROM sms_messages WHERE phone = '+79162220009'")
        learned = await conn.fetchval("SELECT auto_added FROM contacts WHERE counterparty_id = $1", new["id"])
    assert r.headers["location"] == f"/counterparties/{new['id']}#sms"
    assert new["created_by"] == world["irina"]["id"] and learned is True
    assert [m["counterparty_id"] for m in on] == [new["id"], new["id"]]
    # Without the form's token nothing happens.
    assert web.post(f"/sms/{world['m']['u3']}/attach-new", data={"last_name": "X"}).status_code == 403


async def test_saved_filters_for_the_sms_list(web, world):
    log_in_as(web, "irina")
    page = web.get("/sms").text
    r = web.post("/filters", data={"section": "sms", "name": "Strangers", "query": "unattached=1&page=3",
                                   "csrf_token": csrf_from(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sms?unattached=1"
    assert 'href="/sms?unattached=1">Strangers</a>' in web.get("/sms").text


async def test_the_sms_icon_beside_numbers_only_with_a_gateway(web, world, db):
    w = world
    log_in_as(web, "boss")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '+7 916 111-00-01', '+79161110001')", w["sokolov"])
        call = await conn.fetchval(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number,
                                  called_normalized, started_at, status)
               VALUES ('icon.1', 'incoming', '+79165550000', '+79165550000', '100', '100', now(), 'missed')
               RETURNING id""")
    clients = web.get("/clients").text
    assert f'class="sms-link" href="/counterparties/{w["sokolov"]}#sms"' in clients
    calls = web.get("/calls").text
    assert 'class="sms-link" href="/sms?number=%2B79165550000"' in calls and call
    async with db.acquire() as conn:
        await conn.execute("UPDATE sms_gateways SET active = false")
    assert "sms-link" not in web.get("/clients").text and "sms-link" not in web.get("/calls").text
