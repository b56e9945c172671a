"""Calls per line (issue 15): the numbers from seeded calls, the chart, Excel, and who may see it."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from openpyxl import load_workbook

from tests.helpers import XLSX, login, make_user

MSK = dt.timezone(dt.timedelta(hours=3))  # Europe/Moscow, the tests' call centre clock
_channel = itertools.count(1)
PERIOD = "from=2025-03-01&to=2025-03-31"


async def _line(conn, name: str, did: str, *, deleted: bool = False) -> int:
    return await conn.fetchval("""INSERT INTO lines (name, trunk, did, deleted_at) VALUES ($1, 'trunk', $2, $3)
                                  RETURNING id""", name, did, dt.datetime.now(MSK) if deleted else None)


async def _call(conn, line_id: int | None, started: dt.datetime, *, wait: float | None = None,
                status: str = "answered", direction: str = "incoming") -> None:
    answered = started + dt.timedelta(seconds=wait) if status == "answered" else None
    await conn.execute(
        """INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status, line_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        f"seed.{next(_channel)}", direction, started, answered, started + dt.timedelta(seconds=60), status, line_id)


async def _seed(db) -> dict:
    day = dt.datetime(2025, 3, 10, 10, 0, tzinfo=MSK)
    async with db.acquire() as conn:
        promo = await _line(conn, "Promo", "74957770000")
        main = await _line(conn, "Main", "74957770001")
        await _line(conn, "Unused", "74957770002")
        old = await _line(conn, "Old promo", "74957770003", deleted=True)
        await _line(conn, "Old unused", "74957770004", deleted=True)
        for wait in (4, 6, 8):
            await _call(conn, promo, day, wait=wait)
        await _call(conn, promo, day, status="missed")
        await _call(conn, promo, dt.datetime(2025, 3, 31, 23, 30, tzinfo=MSK), status="busy")  # last day, late
        await _call(conn, promo, dt.datetime(2025, 4, 1, 0, 30, tzinfo=MSK), wait=1)  # the next day: not counted
        await _call(conn, promo, dt.datetime(2025, 2, 28, 23, 59, tzinfo=MSK), wait=1)
        await _call(conn, promo, day, wait=2, direction="outgoing")  # lines count incoming calls
        await _call(conn, main, day, wait=10)
        await _call(conn, old, day, status="missed")
        await _call(conn, None, day, status="missed")
        await _call(conn, None, day, wait=3)
    return {"promo": promo, "main": main, "old": old}


async def test_the_report_counts_each_lines_calls_in_the_period(web, db):
    lines = await _seed(db)
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    data = web.get(f"/api/reports/lines?{PERIOD}").json()
    rows = {r["name"]: r for r in data["lines"]}
    assert [r["name"] for r in data["lines"]] == ["Promo", "Main", "Old promo", "Unused", None]
    assert {k: rows["Promo"][k] for k in ("line_id", "total", "answered", "missed", "average_wait")} == {
        "line_id": lines["promo"], "total": 5, "answered": 3, "missed": 2, "average_wait": 6.0}
    assert (rows["Main"]["total"], rows["Main"]["answered"], rows["Main"]["average_wait"]) == (1, 1, 10.0)
    assert (rows["Unused"]["total"], rows["Unused"]["average_wait"]) == (0, None)
    assert rows["Old promo"]["deleted"] and rows["Old promo"]["missed"] == 1
    assert "Old unused" not in rows, "a deleted line without calls in the period is left out"
    assert (rows[None]["total"], rows[None]["answered"], rows[None]["missed"]) == (2, 1, 1)
    assert data["totals"] == {"total": 9, "answered": 5, "missed": 4, "average_wait": 6.2,
                              "answered_share": 5 / 9}

    page = web.get(f"/reports/lines?{PERIOD}").text
    promo_row = page.split(f'data-line="{lines["promo"]}"')[1].split("</tr>")[0]
    assert '<td data-label="Calls" class="total">5</td>' in promo_row
    assert '<td data-label="Answered" class="answered">3</td>' in promo_row
    assert '<td data-label="Missed" class="missed">2</td>' in promo_row
    assert '<td data-label="Average wait" class="wait">0:06</td>' in promo_row and "60%" in promo_row
    assert "Numbers without a line" in page
    # The chart: one group of bars per row, the busiest line full width, drawn without script.
    chart = page.split('<figure class="chart" id="lines-chart">')[1].split("</figure>")[0]
    assert chart.count('<g class="bar">') == 5 and "<script" not in chart
    assert 'width="264.0" height="18" fill="#2e7d32" data-value="3"' in chart  # 3 of 5 calls of 440 units
    assert 'width="176.0" height="18" fill="#c62828" data-value="2"' in chart


async def test_the_report_exports_to_excel_for_the_roles_that_export(web, db):
    await _seed(db)
    await make_user(db, "sup", "supervisor")
    login(web, "sup")
    assert 'id="export"' in web.get(f"/reports/lines?{PERIOD}").text
    r = web.get(f"/reports/lines.xlsx?{PERIOD}")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX and r.headers["x-rows"] == "5"
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Line", "Number", "Trunk", "Calls", "Answered", "Missed", "Average wait, s")
    assert rows[1] == ("Promo", "74957770000", "trunk", 5, 3, 2, 6)
    assert rows[-1][:6] == ("Numbers without a line", None, None, 2, 1, 1)
    ru = web.get(f"/reports/lines.xlsx?{PERIOD}", headers={"Accept-Language": "ru"})
    header = next(load_workbook(io.BytesIO(ru.content)).active.iter_rows(values_only=True))
    assert header[0] == "Линия" and header[3] == "Звонки"


async def test_operators_may_not_see_the_report_and_managers_may_not_export_it(web, db):
    await make_user(db, "op", "operator")
    await make_user(db, "mgr", "manager")
    login(web, "op")
    assert web.get("/reports/lines").status_code == 403
    assert web.get("/api/reports/lines").status_code == 403
    assert web.get("/reports/lines.xlsx").status_code == 403
    assert "/reports/lines" not in web.get("/clients").text
    web.cookies.clear()
    login(web, "mgr")
    page = web.get("/reports/lines")
    assert page.status_code == 200 and 'id="export"' not in page.text
    assert 'href="/reports/lines"' in web.get("/clients").text, "report readers find it in the nav"
    assert web.get("/reports/lines.xlsx").status_code == 403


async def test_the_report_in_russian(web, db):
    await _seed(db)
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    page = web.get(f"/reports/lines?{PERIOD}", headers={"Accept-Language": "ru"}).text
    assert "<h1>Звонки по линиям</h1>" in page and "Номера без линии" in page and 'data-label="Пропущено"' in page


async def test_tag_filters_with_and_without_several_of_each(web, db):
    """D2: the calls whose counterparty has every "with" tag and none of the "without"; page, JSON and Excel."""
    from crm.tags import TagInput, save_tag

    lines = await _seed(db)
    sup = await make_user(db, "sup", "supervisor")
    day = dt.datetime(2025, 3, 12, 10, 0, tzinfo=MSK)
    async with db.acquire() as conn:
        big = await save_tag(conn, sup["id"], None, TagInput("Big"))
        risky = await save_tag(conn, sup["id"], None, TagInput("Risky"))
        for name, line, its_tags in (("Acme", lines["promo"], (big, risky)), ("Beta", lines["main"], (big,))):
            cid = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', $1) "
                                      "RETURNING id", name)
            await conn.executemany("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)",
                                   [(cid, t) for t in its_tags])
            await _call(conn, line, day, wait=2)
            await conn.execute("UPDATE calls SET counterparty_id = $1 WHERE started_at = $2 AND line_id = $3",
                               cid, day, line)
    login(web, "sup")

    def totals(query: str) -> dict:
        data = web.get(f"/api/reports/lines?{PERIOD}&{query}").json()
        return {r["name"]: r["total"] for r in data["lines"] if r["total"]}

    assert totals(f"tag={big}") == {"Promo": 1, "Main": 1}
    assert totals(f"tag={big}&tag={risky}") == {"Promo": 1}
    assert totals(f"tag={big}&notag={risky}") == {"Main": 1}
    assert totals(f"notag={big}&notag={risky}") == {"Promo": 5, "Main": 1, "Old promo": 1, None: 2}, \
        "the seeded calls have no counterparty, so none of those tags"
    page = web.get(f"/reports/lines?{PERIOD}&tag={big}&notag={risky}").text
    assert f'<option value="{big}" selected>with tag Big</option>' in page
    assert f'<option value="{risky}" selected>without tag Risky</option>' in page
    assert f"tag={big}&amp;notag={risky}" in page.split('id="export"')[1].split(">")[0]
    r = web.get(f"/reports/lines.xlsx?{PERIOD}&tag={big}&notag={risky}")
    rows = [row[:4] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert ("Main", "74957770001", "trunk", 1) in rows and ("Promo", "74957770000", "trunk", 0) in rows
