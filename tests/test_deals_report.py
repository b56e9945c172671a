"""The managers' deal report (C5): counts and sums against deals the test makes."""

import datetime as dt
from decimal import Decimal

from starlette.testclient import TestClient

from tests.helpers import login, make_user
from web.app import create_app


async def test_won_and_lost_deals_of_a_manager_in_a_period(db, settings):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    petrov = await make_user(db, "petrov", "manager", full_name="Pavel Petrov")
    await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        deal = await conn.fetchval("SELECT id FROM task_types WHERE is_deal")
        task = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")

        async def add(who, status, outcome, amount, created, closed=None, deadline=None, type_id=deal):
            await conn.execute(
                """INSERT INTO tasks (title, type_id, status, outcome, amount, responsible_user_id, created_at,
                                      closed_at, deadline_date)
                   VALUES ('deal', $1, $2, $3, $4, $5, $6::timestamp AT TIME ZONE 'Europe/Moscow',
                           $7::timestamp AT TIME ZONE 'Europe/Moscow', $8)""",
                type_id, status, outcome, amount, who["id"], created, closed, deadline)

        nov = dt.datetime(2026, 11, 10, 12)
        for amount in ("100.00", "250.50", "1000.00"):  # 3 won in November
            await add(ivanova, "done", "won", Decimal(amount), nov, nov)
        for amount in ("70.00", "30.00"):  # 2 lost in November
            await add(ivanova, "cancelled", "lost", Decimal(amount), nov, nov)
        await add(ivanova, "in_progress", None, Decimal("500"), nov, deadline=dt.date(2026, 11, 20))  # planned
        await add(ivanova, "done", "won", Decimal("9999"), dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 2))
        await add(ivanova, "done", None, None, nov, nov, type_id=task)  # not a deal
        await add(petrov, "new", None, Decimal("40"), dt.datetime(2026, 10, 1), deadline=dt.date(2026, 12, 5))
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "boss")
        report = web.get("/reports/deals", params={"from": "2026-11-01", "to": "2026-11-30"},
                         headers={"accept": "application/json"}).json()
        page = web.get("/reports/deals", params={"from": "2026-11-01", "to": "2026-11-30"}).text
    rows = {r["manager"]: r for r in report["managers"]}
    iv = rows["Irina Ivanova"]
    assert (iv["won"], iv["lost"], iv["planned"], iv["in_progress"], iv["created"]) == (3, 2, 1, 1, 6)
    assert iv["won_amount"] == 1350.5
    assert iv["total_amount"] == 1350.5 + 100 + 500
    pv = rows["Pavel Petrov"]
    assert (pv["won"], pv["lost"], pv["planned"], pv["created"], pv["won_amount"]) == (0, 0, 0, 0, 0)
    assert report["totals"]["won"] == 3 and report["totals"]["won_amount"] == 1350.5
    assert "1,350.50" in page  # the reader's (English) number format


async def test_reports_export_to_excel_with_numbers_as_numbers(db, settings):
    import io

    from openpyxl import load_workbook

    boss = await make_user(db, "boss", "supervisor", full_name="Big Boss")
    async with db.acquire() as conn:
        deal = await conn.fetchval("SELECT id FROM task_types WHERE is_deal")
        await conn.execute("""INSERT INTO tasks (title, type_id, status, outcome, amount, responsible_user_id,
                                                  closed_at) VALUES ('d', $1, 'done', 'won', 99.5, $2, now())""",
                           deal, boss["id"])
        await conn.execute("""INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status,
                                                  operator_user_id)
                              VALUES ('x.1', 'incoming', now(), now(), now() + interval '42 seconds', 'answered', $1)""",
                           boss["id"])
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "boss")
        deals = load_workbook(io.BytesIO(web.get("/reports/deals.xlsx").content)).active
        calls = load_workbook(io.BytesIO(web.get("/reports/calls.xlsx").content)).active
        assert 'href="/reports/deals.xlsx"' in web.get("/reports/deals").text
    header = [c.value for c in deals[1]]
    row = dict(zip(header, [c.value for c in deals[2]]))
    assert row["Manager"] == "Big Boss" and row["Won"] == 1 and row["Won, amount"] == 99.5
    header = [c.value for c in calls[1]]
    row = dict(zip(header, [c.value for c in calls[2]]))
    assert (row["Operator"], row["Type"], row["Calls"], row["Total talk, s"]) == ("Big Boss", "incoming", 1, 42.0)
