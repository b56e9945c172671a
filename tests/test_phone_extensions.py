"""Numbers with an extension (issue 12): stored as main number + extension, shown as
"main, ext. 123", found by a call from the main number; `00` numbers recognised."""

import datetime as dt

from crm.calls import queries as calls_q
from crm.imports import counterparties as import_cp
from crm.phones import caller_match_key
from crm.routing.queries import lookup_caller
from tests.helpers import csrf_from, login, make_user


def _headers(web):
    token = web.cookies.get("pbxcrm_csrf") or csrf_from(web.get("/login").text)
    return {"x-csrf-token": token}


def _create(web, h, **body):
    return web.post("/api/counterparties", headers=h, json=body)


async def test_a_phone_with_an_extension_is_stored_in_two_parts_and_shown_as_one(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    h = _headers(web)
    r = _create(web, h, kind="client", last_name="Kuznetsov",
                contacts=[{"kind": "phone", "value": "8 495 123-45-67 доб. 123"}])
    assert r.status_code == 201, r.text
    [phone] = r.json()["contacts"]
    assert (phone["value"], phone["extension"], phone["normalized"]) == ("8 495 123-45-67", "123", "+74951234567")
    card = web.get(f"/counterparties/{r.json()['id']}").text
    assert "8 495 123-45-67</button><span class=\"extension\">, ext. 123</span>" in card
    listing = web.get("/clients").text
    assert ", ext. 123" in listing
    for i, written in enumerate(("ext. 123", "x123", "#123", ",123")):
        other = _create(web, h, kind="client", last_name=f"N{i}",
                        contacts=[{"kind": "phone", "value": f"+7 916 000-00-0{i} {written}"}])
        assert other.status_code == 201, (written, other.text)
        assert other.json()["contacts"][0]["extension"] == "123"


async def test_one_main_number_with_other_extensions_may_sit_on_other_cards(web, db):
    """An office switchboard: each employee's card has the number with their extension, the
    company's card the number itself. The same number and extension twice is refused."""
    await make_user(db, "adm", "admin")
    login(web, "adm")
    h = _headers(web)
    first = _create(web, h, kind="client", last_name="Belov",
                    contacts=[{"kind": "phone", "value": "8 495 123-45-67 доб. 123"}])
    second = _create(web, h, kind="client", last_name="Chernov",
                     contacts=[{"kind": "phone", "value": "+7 495 123 45 67 ext. 200"}])
    assert first.status_code == 201 and second.status_code == 201, second.text
    again = _create(web, h, kind="client", last_name="Dup",
                    contacts=[{"kind": "phone", "value": "84951234567#123"}])
    assert again.status_code == 409 and "Belov" in again.json()["error"]
    twice = _create(web, h, kind="client", last_name="Twice", contacts=[
        {"kind": "phone", "value": "8 495 765-43-21 доб. 1"}, {"kind": "phone", "value": "84957654321 ext 1"}])
    assert twice.status_code == 400
    async with db.acquire() as conn:
        # A call from the main number (a call has no extension): no card has the number itself,
        # so the card that had it first.
        assert (await lookup_caller(conn, caller_match_key("84951234567"))).counterparty_id == first.json()["id"]
    office = _create(web, h, kind="company", company_name="Office",
                     contacts=[{"kind": "phone", "value": "+7 (495) 123-45-67"}])
    assert office.status_code == 201, office.text
    async with db.acquire() as conn:
        # Now the card with the main number itself takes the call, by every routing copy of the lookup.
        assert (await lookup_caller(conn, "+74951234567")).counterparty_id == office.json()["id"]
        await calls_q.insert_call(
            conn, channel_id="ext-1", direction="incoming", caller_number="0074951234567",
            caller_normalized=caller_match_key("0074951234567"), caller_name="", called_number="100",
            called_normalized="100", line="PJSIP/trunk", started_at=dt.datetime.now(dt.timezone.utc),
            linked_id=None)
        assert await conn.fetchval("SELECT counterparty_id FROM calls WHERE channel_id = 'ext-1'") == \
            office.json()["id"]


async def test_a_00_number_is_stored_and_found_as_plus(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    h = _headers(web)
    r = _create(web, h, kind="client", last_name="Minsky",
                contacts=[{"kind": "phone", "value": "00375291234567"}])
    assert r.status_code == 201, r.text
    assert r.json()["contacts"][0]["normalized"] == "+375291234567"
    dup = _create(web, h, kind="client", last_name="Dup", contacts=[{"kind": "phone", "value": "+375 29 123-45-67"}])
    assert dup.status_code == 409
    async with db.acquire() as conn:
        assert (await lookup_caller(conn, caller_match_key("00375291234567"))).counterparty_id == r.json()["id"]


async def test_import_keeps_an_extension_written_after_a_comma(db):
    importer = await make_user(db, "adm", "admin")

    async def progress(**kw):
        pass

    rows = [(2, ["Frolov", "8 495 123-45-67, доб. 77; 8 916 111-22-33"]),
            (3, ["Gromov", "+7 495 123-45-67 ext 78"]),
            (4, ["Dup", "84951234567 доб. 77"])]
    async with db.acquire() as conn:
        valid, rejected = await import_cp.check(conn, ["Last name", "Phones"], rows, "RU", progress, importer)
    assert [n for n, _ in valid] == [2, 3]
    assert [(c.main_value, c.extension) for c in valid[0][1].contacts] == [
        ("8 495 123-45-67", "77"), ("8 916 111-22-33", None)]
    assert rejected == [(4, "84951234567 доб. 77 is also on row 2 of this file")]


async def test_search_by_a_00_number_or_one_with_an_extension_finds_the_main_number(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    h = _headers(web)
    cid = _create(web, h, kind="client", last_name="Zaitsev",
                  contacts=[{"kind": "phone", "value": "+7 495 123-45-67 доб. 123"}]).json()["id"]
    for q in ("0074951234567", "8 495 123-45-67 доб. 123", "84951234567 ext. 9"):
        found = web.get("/api/clients", params={"q": q}).json()
        assert [i["id"] for i in found["items"]] == [cid], q
