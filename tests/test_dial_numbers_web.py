"""A dial campaign's numbers through HTTP (issue 22): loaded from a tag filter, a saved filter, an Excel
file and the campaign's order, each number read, linked to its card, given its time zone, and invalid,
do-not-call and repeated numbers kept as skipped with their reason and counted; rights per role on the
page, the load and the API; the pure check."""

import html

import pytest

from crm.filters import save as save_filter
from crm.outbound import model, numbers
from tests.dial_world import dial_world
from tests.helpers import XLSX, log_in_as, workbook


@pytest.fixture
async def world(db):
    return await dial_world(db, mode="progressive")


def _load(web, campaign_id, data, files=None):
    return web.post(f"/dial-campaigns/{campaign_id}/numbers",
                    data={"csrf_token": web.cookies["pbxcrm_csrf"], **data},
                    files=files or {"file": ("", b"", "application/octet-stream")}, follow_redirects=False)


async def _numbers(db, campaign_id):
    async with db.acquire() as conn:
        return {r["number"]: r for r in await conn.fetch(
            "SELECT * FROM dial_campaign_numbers WHERE campaign_id = $1 ORDER BY id", campaign_id)}


async def test_load_from_each_source_with_skips_and_reasons(web, world, db):
    c = world["campaign"]
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO dnc_numbers (number, campaign_id) VALUES ('+79163330002', $1)", c)
        saved = await save_filter(conn, world["boris"]["id"], "clients", "VIP ones", f"tag={world['vip']}")
    log_in_as(web, "boris")
    r = _load(web, c, {"source": "tags", "tag": str(world["vip"])})
    assert r.status_code == 303, r.text
    page = web.get(r.headers["location"]).text
    assert "2 numbers loaded; 2 skipped: 1 on the do-not-call list, 1 invalid number" in html.unescape(page)
    rows = await _numbers(db, c)
    assert rows["+7 916 111-00-01"]["status"] == "pending"
    assert rows["+7 916 111-00-01"]["counterparty_id"] == world["sokolov"]
    assert rows["+7 916 111-00-01"]["tz"] == "Europe/Moscow"
    assert rows["+7 423 212-34-56"]["tz"] == "Asia/Vladivostok"
    assert (rows["101"]["status"], rows["101"]["skip_reason"]) == ("skipped", model.SKIP_INVALID)
    assert (rows["+7 916 111-00-04"]["status"], rows["+7 916 111-00-04"]["skip_reason"]) == ("skipped", "dnc")

    sheet = workbook(["Name", "Телефон"], [["", "+7 916 111-00-01"], ["New One", "+7 916 333-00-01"],
                                          [None, "garbage"], ["Campaign DNC", "+7 916 333-00-02"],
                                          [None, "+7 916 111-00-06"]])
    r = _load(web, c, {"source": "file"}, {"file": ("list.xlsx", sheet, XLSX)})
    assert r.status_code == 303, r.text
    page = html.unescape(web.get(r.headers["location"]).text)
    assert "2 numbers loaded; 3 skipped: 1 on the do-not-call list, 1 number listed twice, 1 invalid number" in page
    rows = await _numbers(db, c)
    assert rows["+7 916 333-00-02"]["skip_reason"] == "dnc"  # the campaign's own list
    assert rows["+7 916 111-00-06"]["counterparty_id"] == world["plainov"]
    assert rows["+7 916 111-00-06"]["name"].startswith("Plainov")  # the card's name when the file has none
    assert rows["+7 916 333-00-01"]["name"] == "New One" and rows["+7 916 333-00-01"]["counterparty_id"] is None

    r = _load(web, c, {"source": "order"})
    assert r.status_code == 303, r.text
    assert "1 number loaded; 2 skipped: 1 number listed twice, 1 invalid number" in html.unescape(
        web.get(r.headers["location"]).text)
    rows = await _numbers(db, c)
    assert rows["+7 916 222-00-01"]["order_row_id"] is not None
    assert rows["8 916 111-00-01"]["skip_reason"] == "duplicate"

    r = _load(web, c, {"source": "saved", "saved_filter": str(saved)})
    assert r.status_code == 303, r.text
    assert "0 numbers loaded; 4 skipped" in html.unescape(web.get(r.headers["location"]).text)

    # The list: filtered by status, with reasons; the API's counts.
    page = html.unescape(web.get(f"/dial-campaigns/{c}/numbers?status=skipped").text)
    assert "skipped: on the do-not-call list" in page and "+7 916 222-00-01" not in page
    totals = web.get(f"/api/dial-campaigns/{c}/numbers").json()["totals"]
    assert totals == {"pending": 5, "dialing": 0, "done": 0, "skipped": 11, "all": 16}
    async with db.acquire() as conn:
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'dial_campaign' "
                                      "AND action = 'load numbers' AND entity_id = $1", c)
    assert audited == 4


async def test_bad_loads_say_why_and_keep_nothing(web, world, db):
    c = world["campaign"]
    log_in_as(web, "boris")
    r = _load(web, c, {"source": "file"}, {"file": ("list.xlsx", workbook(["Who"], [["x"]]), XLSX)})
    assert r.status_code == 400 and "column called Phone" in html.unescape(r.text)
    r = _load(web, c, {"source": "saved"})
    assert r.status_code == 400 and "choose a saved filter" in r.text
    r = _load(web, c, {"source": "nowhere"})
    assert r.status_code == 400
    async with db.acquire() as conn:
        await conn.execute("UPDATE dial_campaigns SET order_id = NULL, status = 'cancelled' WHERE id = $1", c)
    assert _load(web, c, {"source": "tags"}).status_code == 400
    assert await _numbers(db, c) == {}


async def test_rights_on_page_load_and_api(web, world, db):
    c = world["campaign"]
    log_in_as(web, "olga")  # an agent: sees the numbers, loads none
    page = web.get(f"/dial-campaigns/{c}/numbers")
    assert page.status_code == 200 and 'id="load-numbers"' not in page.text
    assert web.get(f"/api/dial-campaigns/{c}/numbers").status_code == 200
    assert _load(web, c, {"source": "tags"}).status_code == 403
    for name in ("ivan", "irina", "cora"):  # outside the campaign, or a customer
        log_in_as(web, name)
        assert web.get(f"/dial-campaigns/{c}/numbers").status_code == 404
        assert web.get(f"/api/dial-campaigns/{c}/numbers").status_code == 404
        assert _load(web, c, {"source": "tags"}).status_code in (403, 404)
    log_in_as(web, "boris")
    assert 'id="load-numbers"' in web.get(f"/dial-campaigns/{c}/numbers").text
    assert web.post(f"/dial-campaigns/{c}/numbers", data={"source": "tags"},
                    follow_redirects=False).status_code == 403  # no CSRF
    assert web.get("/dial-campaigns/999999/numbers").status_code == 404
    assert await _numbers(db, c) == {}


def test_check_is_pure_and_counts_reasons():
    listed: set[str] = {"+79161110001"}
    checked = numbers.check([numbers.Candidate("8 916 111-00-01"), numbers.Candidate("+7 916 111-00-02"),
                             numbers.Candidate("+7 916 111-00-02"), numbers.Candidate("12"),
                             numbers.Candidate("+7 916 111-00-03", card_zone="Asia/Omsk")],
                            "RU", "Europe/Moscow", {"+79161110003"}, listed)
    assert [k.skip_reason for k in checked] == ["duplicate", "", "duplicate", "invalid_number", "dnc"]
    assert checked[4].tz == "Asia/Omsk" and checked[1].tz == "Europe/Moscow"
    assert numbers.Loaded(3, {}).summary() == "3 numbers loaded"
