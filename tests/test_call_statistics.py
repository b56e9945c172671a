"""Call statistics (F5-F6): numbers against calls the test makes, and the chart drawn in Chromium."""

import datetime as dt
import io
import os

import pytest
from openpyxl import load_workbook

from tests.browser import WebServerProcess
from tests.helpers import PASSWORD, login, make_user

DAY1, DAY2 = "2026-11-02", "2026-11-03"


@pytest.fixture
async def calls(db):
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    sidorova = await make_user(db, "sidorova", "manager", full_name="Sveta Sidorova")
    await make_user(db, "boss", "supervisor")
    rows = [  # local time, direction, answered?, talk seconds, operator, placed by, wait seconds
        (f"{DAY1} 10:00", "incoming", True, 60, petrov, None, 5),
        (f"{DAY1} 11:00", "incoming", False, 0, None, None, 40),
        (f"{DAY1} 12:00", "outgoing", True, 30, sidorova, sidorova, 8),
        (f"{DAY2} 09:30", "internal", True, 10, petrov, petrov, 2),
        (f"{DAY2} 14:00", "incoming", True, 120, sidorova, None, 15),
        ("2026-11-05 10:00", "incoming", True, 999, petrov, None, 5),  # outside the period
    ]
    async with db.acquire() as conn:
        for i, (at, direction, answered, talk, operator, caller, wait) in enumerate(rows):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status,
                                      operator_user_id, caller_user_id)
                   VALUES ($1, $2, $3::timestamp AT TIME ZONE 'Europe/Moscow',
                           CASE WHEN $4 THEN ($3::timestamp + make_interval(secs => $8)) AT TIME ZONE 'Europe/Moscow' END,
                           ($3::timestamp + make_interval(secs => $8) + make_interval(secs => $5))
                               AT TIME ZONE 'Europe/Moscow',
                           CASE WHEN $4 THEN 'answered' ELSE 'missed' END, $6, $7)""",
                f"stat.{i}", direction, dt.datetime.fromisoformat(at), answered, float(talk), operator["id"] if operator else None,
                caller["id"] if caller else None, float(wait))


async def test_calls_by_type_and_by_operator_per_day(calls, web):
    login(web, "boss")
    by_type = web.get("/api/reports/calls", params={"from": DAY1, "to": DAY2, "group": "day"}).json()
    assert by_type["buckets"] == [f"{DAY1} 00:00", f"{DAY2} 00:00"]
    s = by_type["series"]
    assert (s["incoming"]["calls"], s["missed"]["calls"], s["outgoing"]["calls"], s["internal"]["calls"]) == \
        ([1, 1], [1, 0], [1, 0], [0, 1])
    assert s["incoming"]["seconds"] == [60.0, 120.0]

    by_operator = web.get("/api/reports/calls", params={"from": DAY1, "to": DAY2, "by": "operator"}).json()
    s = by_operator["series"]
    assert s["Pavel Petrov"] == {"calls": [1, 1], "seconds": [60.0, 10.0], "wait": [5.0, 2.0]}
    assert s["Sveta Sidorova"] == {"calls": [1, 1], "seconds": [30.0, 120.0], "wait": [8.0, 15.0]}
    assert s["nobody"]["calls"] == [1, 0]
    # Wait time beside talk time: until answered, or until the unanswered call ended.
    assert by_type["series"]["missed"]["wait"] == [40.0, 0.0] and by_type["series"]["incoming"]["wait"] == [5.0, 15.0]
    waits = {(r["operator"], r["type"]): (r["total_wait_seconds"], r["average_wait_seconds"])
             for r in by_type["consolidated"]}
    assert waits[("nobody", "missed")] == (40.0, 40.0) and waits[("Sveta Sidorova", "outgoing")] == (8.0, 8.0)

    table = {(r["operator"], r["type"]): (r["calls"], r["total_seconds"], r["average_seconds"])
             for r in by_type["consolidated"]}
    assert table == {("Pavel Petrov", "incoming"): (1, 60.0, 60.0), ("Pavel Petrov", "internal"): (1, 10.0, 10.0),
                     ("Sveta Sidorova", "outgoing"): (1, 30.0, 30.0),
                     ("Sveta Sidorova", "incoming"): (1, 120.0, 120.0), ("nobody", "missed"): (1, 0.0, 0.0)}

    hourly = web.get("/api/reports/calls", params={"from": DAY1, "to": DAY1, "group": "hour"}).json()
    assert len(hourly["buckets"]) == 24 and hourly["series"]["incoming"]["calls"][10] == 1
    monthly = web.get("/api/reports/calls", params={"from": DAY1, "to": DAY2, "group": "month"}).json()
    assert monthly["buckets"] == ["2026-11-01 00:00"] and monthly["series"]["incoming"]["calls"] == [2]
    assert web.get("/api/reports/calls", params={"from": DAY2, "to": DAY1}).status_code == 400


async def test_the_page_shows_wait_time_as_a_metric_and_in_the_table(calls, web):
    login(web, "boss")
    page = web.get("/reports/calls", params={"from": DAY1, "to": DAY2, "metric": "wait"}).text
    assert "Wait time by day" in page and '<option value="wait" selected>wait time</option>' in page
    series = page[page.index('id="series"'):page.index('id="consolidated"')]
    assert '<td data-label="missed">0:40</td>' in series and '<td data-label="incoming">0:15</td>' in series, series
    consolidated = page[page.index('id="consolidated"'):]
    assert "Total wait" in consolidated and "Average wait" in consolidated


def _sheets(response):
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}, book.active.title


@pytest.mark.parametrize("group", ["hour", "day", "week", "month"])
async def test_the_excel_file_holds_the_table_and_the_series(calls, web, group):
    login(web, "boss")
    sheets, active = _sheets(web.get("/reports/calls.xlsx", params={"from": DAY1, "to": DAY2, "group": group}))
    assert active == "Calls", "the consolidated table first"
    table = sheets["Calls"]
    assert table[0] == ["Operator", "Type", "Calls", "Total talk, s", "Average talk, s", "Total wait, s",
                        "Average wait, s"]
    assert ["nobody", "missed", 1, 0, 0, 40, 40] in table
    series = sheets[f"Calls by {group}"]
    head = series[0]
    assert head[0] == {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}[group]
    assert head[1:4] == ["incoming: calls", "incoming: talk, s", "incoming: wait, s"]
    expected_rows = {"hour": 48, "day": 2, "week": 1, "month": 1}[group]
    assert len(series) - 1 == expected_rows
    column = {name: i for i, name in enumerate(head)}
    totals = {name: sum(row[i] or 0 for row in series[1:]) for name, i in column.items() if i}
    assert (totals["incoming: calls"], totals["incoming: talk, s"], totals["incoming: wait, s"]) == (2, 180, 20)
    assert (totals["missed: calls"], totals["missed: wait, s"]) == (1, 40)
    first = series[1][0]
    assert first == {"hour": dt.datetime(2026, 11, 2, 0, 0), "day": dt.datetime(2026, 11, 2),
                     "week": dt.datetime(2026, 11, 2), "month": dt.datetime(2026, 11, 1)}[group]
    if group == "hour":
        assert series[1 + 11][column["missed: calls"]] == 1, "11:00 Moscow time"
    by_operator, _ = _sheets(web.get("/reports/calls.xlsx", params={"from": DAY1, "to": DAY2, "by": "operator"}))
    assert "Pavel Petrov: wait, s" in by_operator["Calls by day"][0]


async def test_the_excel_file_is_in_the_readers_language(calls, web, db):
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'ru' WHERE login = 'boss'")
    login(web, "boss")
    sheets, _ = _sheets(web.get("/reports/calls.xlsx", params={"from": DAY1, "to": DAY2}))
    assert "Звонки по дням" in sheets
    assert "Среднее ожидание, с" in sheets["Звонки"][0]


async def test_operators_do_not_see_statistics(calls, web):
    login(web, "petrov")
    assert web.get("/reports/calls").status_code == 403


async def test_the_chart_is_drawn_with_one_series_per_call_type(calls, database_url, chromium, tmp_path):
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    await web.start()
    try:
        page = await (await chromium.new_context()).new_page()
        await page.goto(web.url + "/login")
        await page.fill("input[name=login]", "boss")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.goto(f"{web.url}/reports/calls?from={DAY1}&to={DAY2}")
        await page.wait_for_function("() => window.pbxcrmChart !== undefined")  # a function: the CSP forbids eval
        chart = await page.evaluate("""() => ({
            labels: pbxcrmChart.data.labels,
            series: pbxcrmChart.data.datasets.map(d => [d.label, d.data]),
            painted: (() => { const c = document.getElementById('calls-chart');
                              const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                              let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n; })() })""")
        assert chart["labels"] == ["11/2/2026", "11/3/2026"]  # the periods in the reader's language
        assert dict(chart["series"]) == {"incoming": [1, 1], "outgoing": [1, 0], "internal": [0, 1],
                                         "missed": [1, 0]}
        assert chart["painted"] > 1000  # bars and axes are on the canvas
        assert "Sveta Sidorova" in await page.inner_text("#consolidated")
    finally:
        web.stop()


@pytest.fixture
async def tagged(calls, db):
    """The calls' counterparties and their tags: stat.0 Acme (Big, Risky), stat.2 Beta (Big), stat.4 Gamma (none);
    the others have no counterparty."""
    from crm.tags import TagInput, save_tag, set_tag

    async with db.acquire() as conn:
        boss = await conn.fetchrow("SELECT * FROM users WHERE login = 'boss'")
        big = await save_tag(conn, boss["id"], None, TagInput("Big"))
        risky = await save_tag(conn, boss["id"], None, TagInput("Risky"))
        for channel, name, its_tags in (("stat.0", "Acme", (big, risky)), ("stat.2", "Beta", (big,)),
                                        ("stat.4", "Gamma", ())):
            cid = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', $1) "
                                      "RETURNING id", name)
            await conn.execute("UPDATE calls SET counterparty_id = $1 WHERE channel_id = $2", cid, channel)
            for tag in its_tags:
                await set_tag(conn, dict(boss), "counterparty", cid, tag, on=True)
    return {"big": big, "risky": risky}


async def test_tag_filters_with_and_without_several_of_each(tagged, web):
    """D2: the call statistics of the calls whose counterparty has every "with" tag and none of the "without"."""
    login(web, "boss")
    big, risky = tagged["big"], tagged["risky"]

    def counted(*tags):
        report = web.get("/api/reports/calls", params=[("from", DAY1), ("to", DAY2), *tags]).json()
        return {(r["operator"], r["type"]): r["calls"] for r in report["consolidated"]}, report

    assert counted(("tag", big))[0] == {("Pavel Petrov", "incoming"): 1, ("Sveta Sidorova", "outgoing"): 1}
    assert counted(("tag", big), ("notag", risky))[0] == {("Sveta Sidorova", "outgoing"): 1}
    both, report = counted(("tag", big), ("tag", risky))
    assert both == {("Pavel Petrov", "incoming"): 1} and report["tag"] == [big, risky]
    assert report["series"]["incoming"]["calls"] == [1, 0] and report["series"]["outgoing"]["calls"] == [0, 0]
    # Without either tag: the untagged counterparty's call and the calls with no counterparty at all.
    assert counted(("notag", big), ("notag", risky))[0] == {
        ("nobody", "missed"): 1, ("Pavel Petrov", "internal"): 1, ("Sveta Sidorova", "incoming"): 1}
    assert web.get("/api/reports/calls", params={"tag": "x"}).status_code == 400

    page = web.get("/reports/calls", params=[("from", DAY1), ("to", DAY2), ("tag", big), ("notag", risky)]).text
    assert f'<option value="{big}" selected>with tag Big</option>' in page
    assert f'<option value="{risky}" selected>without tag Risky</option>' in page
    consolidated = page[page.index('id="consolidated"'):]
    assert "Sveta Sidorova" in consolidated and "Pavel Petrov" not in consolidated
    assert f"tag={big}&amp;notag={risky}" in page[page.index('id="export"'):], "the export keeps the filters"

    sheets, _ = _sheets(web.get("/reports/calls.xlsx", params=[("from", DAY1), ("to", DAY2), ("tag", big),
                                                                ("notag", risky)]))
    assert [row[:3] for row in sheets["Calls"][1:]] == [["Sveta Sidorova", "outgoing", 1]]
    column = {name: i for i, name in enumerate(sheets["Calls by day"][0])}
    assert [row[column["outgoing: calls"]] for row in sheets["Calls by day"][1:]] == [1, 0]
    assert [row[column["incoming: calls"]] for row in sheets["Calls by day"][1:]] == [0, 0]
