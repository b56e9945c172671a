"""Call statistics (F5-F6): numbers against calls the test makes, and the chart drawn in Chromium."""

import datetime as dt
import os

import pytest

from tests.browser import WebServerProcess
from tests.helpers import PASSWORD, login, make_user

DAY1, DAY2 = "2026-11-02", "2026-11-03"


@pytest.fixture
async def calls(db):
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    sidorova = await make_user(db, "sidorova", "manager", full_name="Sveta Sidorova")
    await make_user(db, "boss", "supervisor")
    rows = [  # local time, direction, answered?, talk seconds, operator, placed by
        (f"{DAY1} 10:00", "incoming", True, 60, petrov, None),
        (f"{DAY1} 11:00", "incoming", False, 0, None, None),
        (f"{DAY1} 12:00", "outgoing", True, 30, sidorova, sidorova),
        (f"{DAY2} 09:30", "internal", True, 10, petrov, petrov),
        (f"{DAY2} 14:00", "incoming", True, 120, sidorova, None),
        ("2026-11-05 10:00", "incoming", True, 999, petrov, None),  # outside the period
    ]
    async with db.acquire() as conn:
        for i, (at, direction, answered, talk, operator, caller) in enumerate(rows):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status,
                                      operator_user_id, caller_user_id)
                   VALUES ($1, $2, $3::timestamp AT TIME ZONE 'Europe/Moscow',
                           CASE WHEN $4 THEN ($3::timestamp + interval '5 seconds') AT TIME ZONE 'Europe/Moscow' END,
                           ($3::timestamp + interval '5 seconds' + make_interval(secs => $5)) AT TIME ZONE 'Europe/Moscow',
                           CASE WHEN $4 THEN 'answered' ELSE 'missed' END, $6, $7)""",
                f"stat.{i}", direction, dt.datetime.fromisoformat(at), answered, float(talk), operator["id"] if operator else None,
                caller["id"] if caller else None)


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
    assert s["Pavel Petrov"] == {"calls": [1, 1], "seconds": [60.0, 10.0]}
    assert s["Sveta Sidorova"] == {"calls": [1, 1], "seconds": [30.0, 120.0]}
    assert s["nobody"]["calls"] == [1, 0]

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
