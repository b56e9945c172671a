"""The do-not-call list through HTTP (issue 22): add one (global or a campaign's), from a card's phone,
from an Excel file; search; remove; each change audited; an added number skips the pending numbers of
unfinished campaigns at once; only supervisors and admins see or change it."""

import html

import pytest

from tests.dial_world import dial_world
from tests.helpers import XLSX, log_in_as, workbook


@pytest.fixture
async def world(db):
    w = await dial_world(db, mode="progressive", status="running")
    async with db.acquire() as conn:
        w["other"] = await conn.fetchval("INSERT INTO dial_campaigns (name, status, author_id) "
                                         "VALUES ('Spring calls', 'draft', $1) RETURNING id", w["boris"]["id"])
        for campaign in (w["campaign"], w["other"]):
            await conn.execute(
                """INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized)
                   VALUES ($1, '+7 916 555-00-01', '+79165550001'), ($1, '+7 916 555-00-02', '+79165550002'),
                          ($1, '+7 916 555-00-03', '+79165550003')""", campaign)
    return w


def _post(web, path, data, files=None):
    return web.post(path, data={"csrf_token": web.cookies["pbxcrm_csrf"], **data}, files=files,
                    follow_redirects=False)


async def _statuses(db, campaign_id):
    async with db.acquire() as conn:
        return {r["number_normalized"]: (r["status"], r["skip_reason"]) for r in await conn.fetch(
            "SELECT number_normalized, status, skip_reason FROM dial_campaign_numbers WHERE campaign_id = $1",
            campaign_id)}


async def test_add_search_remove_and_the_effect(web, world, db):
    log_in_as(web, "boris")
    r = _post(web, "/dial-campaigns/dnc", {"number": "8 (916) 555-00-01", "reason": "asked twice"})
    assert r.status_code == 303
    assert "+79165550001" in html.unescape(web.get(r.headers["location"]).text)
    for campaign in (world["campaign"], world["other"]):  # both unfinished campaigns skip it
        assert (await _statuses(db, campaign))["+79165550001"] == ("skipped", "dnc")
    # One campaign's entry: only that campaign's number is skipped.
    r = _post(web, "/dial-campaigns/dnc", {"number": "+7 916 555-00-02", "campaign": str(world["other"])})
    assert r.status_code == 303
    assert (await _statuses(db, world["other"]))["+79165550002"] == ("skipped", "dnc")
    assert (await _statuses(db, world["campaign"]))["+79165550002"] == ("pending", "")
    again = _post(web, "/dial-campaigns/dnc", {"number": "+79165550001"})
    assert "already on the do-not-call list" in html.unescape(web.get(again.headers["location"]).text)
    bad = _post(web, "/dial-campaigns/dnc", {"number": "not a number"})
    assert bad.status_code == 400 and "not a valid phone number" in html.unescape(bad.text)
    # Search by digits and by list.
    page = web.get("/dial-campaigns/dnc?q=555-00-02").text
    assert "+79165550002" in page and "+79165550001" not in page and "+79161110004" not in page
    page = web.get("/dial-campaigns/dnc?scope=global").text
    assert "+79165550001" in page and "+79161110004" in page and "+79165550002" not in page
    # Remove: gone from the list, audited.
    async with db.acquire() as conn:
        entry = await conn.fetchval("SELECT id FROM dnc_numbers WHERE number = '+79165550001'")
    assert _post(web, f"/dial-campaigns/dnc/{entry}/delete", {}).status_code == 303
    assert "+79165550001" not in web.get("/dial-campaigns/dnc").text
    assert _post(web, f"/dial-campaigns/dnc/{entry}/delete", {}).status_code == 404
    async with db.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'dnc_number' ORDER BY id")]
    assert actions == ["create", "create", "delete"]


async def test_import_from_excel(web, world, db):
    log_in_as(web, "boris")
    sheet = workbook(["Phone", "Reason"], [["+7 916 555-00-03", "complained"], ["+7 916 555-00-03", ""],
                                           ["+7 916 111-00-04", ""], ["rubbish", ""]])
    r = _post(web, "/dial-campaigns/dnc/import", {}, {"file": ("dnc.xlsx", sheet, XLSX)})
    assert r.status_code == 303, r.text
    assert "1 number added; already listed: 2; invalid: 1" in html.unescape(web.get(r.headers["location"]).text)
    assert (await _statuses(db, world["campaign"]))["+79165550003"] == ("skipped", "dnc")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT reason FROM dnc_numbers WHERE number = '+79165550003'") == "complained"
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'dnc_number' "
                                   "AND action = 'import'") == 1
    r = _post(web, "/dial-campaigns/dnc/import", {}, {"file": ("dnc.xlsx", workbook(["Who"], [["x"]]), XLSX)})
    assert r.status_code == 400 and "column called Phone" in html.unescape(r.text)


async def test_card_button_and_rights(web, world, db):
    card = f"/counterparties/{world['sokolov']}"
    log_in_as(web, "boris")
    assert 'data-dnc="+79161110001"' in web.get(card).text
    r = _post(web, "/dial-campaigns/dnc", {"number": "+79161110001", "back": card})
    assert r.status_code == 303 and r.headers["location"] == card
    r = _post(web, "/dial-campaigns/dnc", {"number": "+79161110006", "back": "https://evil.example/x"})
    assert r.headers["location"].startswith("/dial-campaigns/dnc")
    for name in ("olga", "irina", "cora"):
        log_in_as(web, name)
        if name != "cora":
            assert "data-dnc=" not in web.get(card).text
        refused = 404 if name == "cora" else 403  # a customer: outside its routes the site does not exist
        assert web.get("/dial-campaigns/dnc").status_code == refused
        assert _post(web, "/dial-campaigns/dnc", {"number": "+79165550003"}).status_code == refused
        assert _post(web, "/dial-campaigns/dnc/import", {}, {"file": ("d.xlsx", b"", XLSX)}).status_code == refused
        assert _post(web, "/dial-campaigns/dnc/1/delete", {}).status_code == refused
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dnc_numbers") == 3
