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


async def test_deals_report_filters_and_the_deals_sum_in_tasks(db, settings):
    """C5, D2: responsible, status, tags and excluded tags; Tasks with "deals only" sums the found amounts."""
    from crm.tags import TagInput, save_tag, set_tag

    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    petrov = await make_user(db, "petrov", "manager", full_name="Pavel Petrov")
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        deal = await conn.fetchval("SELECT id FROM task_types WHERE is_deal")
        cid = await conn.fetchval("INSERT INTO counterparties (kind, company_name, remark) "
                                  "VALUES ('company', 'Acme', 'pays late') RETURNING id")
        big = await save_tag(conn, boss["id"], None, TagInput("Big"))
        risky = await save_tag(conn, boss["id"], None, TagInput("Risky"))
        ids = {}
        for title, who, status, amount in (("d1", ivanova, "new", "100"), ("d2", ivanova, "in_progress", "250"),
                                           ("d3", petrov, "in_progress", "1000"), ("d4", ivanova, "new", "7")):
            ids[title] = await conn.fetchval(
                """INSERT INTO tasks (title, type_id, status, amount, responsible_user_id, deadline_date,
                                      counterparty_id)
                   VALUES ($1, $2, $3, $4, $5, '2026-11-20', $6) RETURNING id""",
                title, deal, status, Decimal(amount), who["id"], cid)
        for title, tag in (("d1", big), ("d2", big), ("d3", big), ("d2", risky)):
            await set_tag(conn, boss, "task", ids[title], tag, on=True)
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "boss")

        def report(*params):
            return web.get("/reports/deals", params=[("from", "2026-11-01"), ("to", "2026-11-30"), *params],
                           headers={"accept": "application/json"}).json()

        assert report()["totals"]["planned"] == 4
        assert report()["totals"]["total_amount"] == 1357
        assert [r["manager"] for r in report(("responsible", petrov["id"]))["managers"]] == ["Pavel Petrov"]
        assert report(("status", "in_progress"))["totals"]["total_amount"] == 1250
        assert report(("tag", big))["totals"]["total_amount"] == 1350
        assert report(("tag", big), ("notag", risky))["totals"]["total_amount"] == 1100
        assert report(("tag", big), ("tag", risky))["totals"]["total_amount"] == 250
        assert report(("notag", big), ("notag", risky))["totals"]["total_amount"] == 7
        assert web.get("/reports/deals", params={"status": "bogus"}).status_code == 400
        page = web.get("/reports/deals", params=[("responsible", ivanova["id"]), ("tag", big)]).text
        assert f'<option value="{ivanova["id"]}" selected' in page and f'<option value="{big}" selected' in page
        xlsx = web.get("/reports/deals.xlsx", params=[("from", "2026-11-01"), ("to", "2026-11-30"),
                                                       ("responsible", petrov["id"])])
        import io

        from openpyxl import load_workbook
        cells = [c.value for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows() for c in row]
        assert "Pavel Petrov" in cells and "Irina Ivanova" not in cells

        # Tasks, deals only: the sum of every deal found (all pages), and the counterparty's remark by its name.
        tasks = web.get("/tasks", params=[("responsible", "all"), ("status", "all"), ("deals", "1"), ("tag", big),
                                          ("size", "1")]).text
        assert 'id="deals-sum"' in tasks and "1,350.00" in tasks.split('id="deals-sum"')[1]
        assert '<span class="remark">pays late</span>' in tasks
        assert tasks.count('<tr data-id=') == 1  # one row on the page, the sum of all three
        assert 'id="deals-sum"' not in web.get("/tasks", params={"responsible": "all"}).text
