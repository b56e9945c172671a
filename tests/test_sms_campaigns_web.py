"""SMS campaign pages through HTTP (issue 21, I2): a campaign from a tag filter (with X, without Y) lists
the right recipients and shows why some are skipped; from an Excel file; the preview's placeholder error;
approval only by a supervisor (the author told); rights on the list, the page, the progress and the report;
CSRF; the Excel report's content after the runner and the receipts."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from crm import appsettings
from crm.sms import queries as sms_queries
from crm.sms.campaigns import runner
from tests.helpers import log_in_as, workbook
from tests.sms_campaign_world import campaign_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))


@pytest.fixture
async def world(db):
    w = await campaign_world(db)
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, w["boris"]["id"], ["operator", "supervisor", "admin"])
    return w


def _create(web, data, files=None):
    fields = {"csrf_token": web.cookies["pbxcrm_csrf"], "name": "Winter sale", "body": "Hi {first_name}!",
              "window_from": "9", "window_to": "21", "max_parts": "1", **data}
    return web.post("/sms/campaigns", data=fields, files=files or {"file": ("", b"", "application/octet-stream")},
                    follow_redirects=False)


def _act(web, campaign_id, action):
    return web.post(f"/sms/campaigns/{campaign_id}/{action}", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                    follow_redirects=False)


async def test_from_a_tag_filter_then_approval(web, world, db):
    log_in_as(web, "olga")
    r = _create(web, {"source": "tags", "tag": str(world["vip"]), "notag": str(world["blocked"])})
    assert r.status_code == 303, r.text
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = web.get(f"/sms/campaigns/{campaign_id}").text
    assert "Sokolov Ivan" in page and "Pyotrov Pyotr" in page and "Blokov" not in page and "Plainov" not in page
    assert "skipped: opted out of SMS" in page and "skipped: invalid number" in page
    assert "Hi Ivan!" in page
    progress = web.get(f"/api/sms/campaigns/{campaign_id}").json()
    assert progress["status"] == "draft" and progress["totals"]["pending"] == 2 and progress["totals"]["skipped"] == 2
    # Another operator neither sees it nor moves it; the list shows only one's own.
    log_in_as(web, "oleg")
    assert web.get(f"/sms/campaigns/{campaign_id}").status_code == 404
    assert web.get(f"/api/sms/campaigns/{campaign_id}").status_code == 404
    assert web.get(f"/sms/campaigns/{campaign_id}.xlsx").status_code == 404
    assert "Winter sale" not in web.get("/sms/campaigns").text
    assert _act(web, campaign_id, "submit").status_code == 404
    log_in_as(web, "olga")
    assert "Winter sale" in web.get("/sms/campaigns").text
    assert _act(web, campaign_id, "submit").status_code == 303
    assert _act(web, campaign_id, "approve").status_code == 403
    assert web.post(f"/sms/campaigns/{campaign_id}/cancel", follow_redirects=False).status_code == 403  # no CSRF
    log_in_as(web, "boris")
    assert "Winter sale" in web.get("/sms/campaigns").text
    assert _act(web, campaign_id, "approve").status_code == 303
    assert web.get(f"/api/sms/campaigns/{campaign_id}").json()["status"] == "approved"
    async with db.acquire() as conn:
        told = await conn.fetchval("SELECT title FROM notifications WHERE user_id = $1 AND kind = 'sms_campaign'",
                                   world["olga"]["id"])
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'sms_campaign' ORDER BY id")]
    assert told == "SMS campaign Winter sale is approved"
    assert actions == ["create", "submit", "approve"]
    assert _act(web, campaign_id, "resume").status_code == 409  # not paused


async def test_from_an_excel_file_and_the_report(web, world, db):
    log_in_as(web, "olga")
    content = workbook(["Телефон", "Имя"], [["+7 916 555-00-01", "Anna"], ["8 916 555-00-01", "Anna again"],
                                            ["12345", "Bad"], ["+7 916 111-00-01", ""]])
    r = _create(web, {"source": "file", "body": "Hello {name}"}, {"file": ("list.xlsx", content, XLSX)})
    assert r.status_code == 303, r.text
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = web.get(f"/sms/campaigns/{campaign_id}").text
    assert "skipped: number listed twice" in page and "skipped: invalid number" in page
    assert "Hello Sokolov Ivan" in page  # a number on a card takes the card's name
    _act(web, campaign_id, "submit")
    log_in_as(web, "boris")
    _act(web, campaign_id, "approve")
    async with db.acquire() as conn:
        await conn.execute("UPDATE sms_campaigns SET approved_at = $2 WHERE id = $1", campaign_id,
                           NOON - dt.timedelta(hours=1))
    assert (await runner.step(db, NOON)).queued == 2
    async with db.acquire() as conn:
        claimed = await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=NOON)
        await sms_queries.record_submitted(conn, claimed[0]["id"], world["gateway"], [(1, "x1")])
        await sms_queries.apply_receipt(conn, world["gateway"], "x1", "delivered")
        await sms_queries.fail(conn, claimed[1]["id"], "refused by the SMSC")
    log_in_as(web, "olga")
    r = web.get(f"/sms/campaigns/{campaign_id}.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row][:5] for row in sheet.iter_rows()]
    assert rows[0] == ["Phone", "Name", "Text", "Result", "Error"]
    assert rows[1:] == [["+79165550001", "Anna", "Hello Anna", "delivered", ""],
                        ["+79165550001", "Anna again", "Hello Anna again", "number listed twice", ""],
                        ["12345", "Bad", "Hello Bad", "invalid number", ""],
                        ["+79161110001", "Sokolov Ivan", "Hello Sokolov Ivan", "failed", "refused by the SMSC"]]
    totals = web.get(f"/api/sms/campaigns/{campaign_id}").json()["totals"]
    assert (totals["sent"], totals["delivered"], totals["failed"], totals["skipped"]) == (1, 1, 1, 2)
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, world["boris"]["id"], ["supervisor", "admin"])
    assert web.get(f"/sms/campaigns/{campaign_id}.xlsx").status_code == 403


async def test_bad_text_and_preview(web, world):
    log_in_as(web, "olga")
    r = _create(web, {"source": "tags", "tag": str(world["vip"]), "body": "Hi {surname}"})
    assert r.status_code == 400 and "unknown placeholder {surname}" in r.text
    assert web.get("/api/sms/campaigns/preview", params={"body": "Hi {surname}"}).json()["error"].startswith(
        "unknown placeholder {surname}")
    shown = web.get("/api/sms/campaigns/preview", params={"body": "Привет, {first_name}!"}).json()
    assert shown == {"text": "Привет, Ivan!", "parts": 1, "encoding": "ucs2", "units": 13}
    r = _create(web, {"source": "saved", "body": "Hi"})
    assert r.status_code == 400 and "choose a saved filter" in r.text


async def test_from_a_saved_clients_filter(web, world, db):
    from crm import filters

    async with db.acquire() as conn:
        mine = await filters.save(conn, world["olga"]["id"], "clients", "VIP, not blocked",
                                  f"tag={world['vip']}&notag={world['blocked']}&page=3")
        theirs = await filters.save(conn, world["oleg"]["id"], "clients", "All", "")
    log_in_as(web, "olga")
    assert "VIP, not blocked" in web.get("/sms/campaigns/new").text
    assert _create(web, {"source": "saved", "saved_filter": str(theirs)}).status_code == 404  # not hers
    r = _create(web, {"source": "saved", "saved_filter": str(mine)})
    assert r.status_code == 303, r.text
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
    async with db.acquire() as conn:
        names = {row["name"] for row in await conn.fetch(
            "SELECT name FROM sms_campaign_recipients WHERE campaign_id = $1", campaign_id)}
        source = await conn.fetchval("SELECT source FROM sms_campaigns WHERE id = $1", campaign_id)
    assert names == {"Sokolov Ivan", "Pyotrov Pyotr", "Stopov Stepan", "Shortov Semyon"}
    assert source == "saved filter VIP, not blocked"
