"""Excel export (F4): the list's filters, typed cells, who may export."""

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from crm.users import queries as users_q
from tests.helpers import login, make_user


def _sheet(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content)).active


async def test_supervisor_exports_the_filtered_list_with_typed_cells(web, db):
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        for last, phone in [("Orlov", "+7 495 000-00-01"), ("Orlova", "+7 495 000-00-02"), ("Smirnov", None)]:
            await service.create(conn, boss, CounterpartyInput(
                kind="client", last_name=last, remark="VIP" if last == "Orlov" else "",
                contacts=(ContactInput("phone", phone),) if phone else ()), "RU")
    login(web, "boss")
    sheet = _sheet(web.get("/clients.xlsx", params={"q": "orlov"}))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("ID", "Name", "Remark")
    assert [r[1] for r in rows[1:]] == ["Orlov", "Orlova"]
    assert rows[1][2] == "VIP" and rows[1][6] == "+7 495 000-00-01"
    created = sheet.cell(row=2, column=10)
    assert isinstance(created.value, dt.datetime) and created.number_format == "yyyy-mm-dd hh:mm"
    assert isinstance(sheet.cell(row=2, column=1).value, int)
    page = web.get("/clients?q=orlov").text
    assert 'id="export" href="/clients.xlsx?q=orlov"' in page


async def test_export_is_for_supervisors_until_the_admin_widens_it(web, db):
    await make_user(db, "mgr", "manager")
    await make_user(db, "adm", "admin")
    login(web, "mgr")
    assert web.get("/clients.xlsx").status_code == 403
    assert 'id="export"' not in web.get("/clients").text
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "adm")
    r = web.post("/admin/settings/export", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                 "roles": ["manager", "supervisor"]}, follow_redirects=False)
    assert r.status_code == 303
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "mgr")
    assert web.get("/companies.xlsx").status_code == 200


async def test_tasks_export_has_amounts_as_numbers_and_deadlines_as_dates(web, db):
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        deal = await conn.fetchval("SELECT id FROM task_types WHERE is_deal")
        await task_service.create(conn, boss, TaskInput(
            title="Big deal", type_id=deal, responsible_user_id=boss["id"], deadline_date=dt.date(2026, 12, 1),
            amount=Decimal("150000.50"), status="done", outcome="won"))
    login(web, "boss")
    sheet = _sheet(web.get("/tasks.xlsx", params={"status": "all", "deals": "1"}))
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2])}
    assert row["Title"].value == "Big deal" and row["Outcome"].value == "won"
    assert row["Amount"].value == 150000.5 and row["Amount"].number_format == "#,##0.00"
    assert row["Deadline"].value == dt.datetime(2026, 12, 1) and row["Deadline"].number_format == "yyyy-mm-dd"


async def test_the_call_log_exports_with_its_route(web, db):
    boss = await make_user(db, "boss", "supervisor", full_name="Big Boss")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, started_at, answered_at, ended_at, status,
                                  operator_user_id, route)
               VALUES ('e.1', 'incoming', '84951234567', now() - interval '1 minute', now() - interval '50 seconds',
                       now(), 'answered', $1,
                       '[{"kind": "queue", "target": "queue Default", "result": "answered by Big Boss after 0 s"}]')""",
            boss["id"])
    login(web, "boss")
    sheet = _sheet(web.get("/calls.xlsx"))
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2])}
    assert row["Caller"] == "84951234567" and row["Operator"] == "Big Boss"
    assert row["Route"] == "queue Default: answered by Big Boss after 0 s"
    assert isinstance(row["Started"], dt.datetime) and 49 <= row["Talk, s"] <= 51


async def test_an_export_is_in_the_exporting_users_language_and_on_their_clock(web, db):
    olga = await make_user(db, "olga", "supervisor", full_name="Olga Orlova")
    john = await make_user(db, "john", "supervisor", full_name="John Smith")
    started = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.timezone.utc)
    async with db.acquire() as conn:
        await users_q.set_locale(conn, olga["id"], "ru", "Europe/Moscow")
        await users_q.set_locale(conn, john["id"], "en", "America/New_York")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, started_at, ended_at, status, route)
               VALUES ('m.1', 'incoming', '84951234567', $1::timestamptz, $1::timestamptz + interval '1 minute', 'missed',
                       '[{"kind": "queue", "target": "queue Default", "result": "nobody answered in 60 s"}]')""",
            started)
        task_type = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        await task_service.create(conn, olga, TaskInput(title="Call the bank", type_id=task_type,
                                                        responsible_user_id=olga["id"],
                                                        deadline_date=dt.date(2026, 1, 10)))
    period = {"from": "2026-01-14", "to": "2026-01-16"}

    login(web, "olga")
    sheet = _sheet(web.get("/calls.xlsx", params=period))
    header = [c.value for c in sheet[1]]
    assert sheet.title == "Звонки" and header[:3] == ["Начало", "Направление", "Кто звонил"]
    row = {h: c for h, c in zip(header, sheet[2])}
    assert row["Начало"].value == dt.datetime(2026, 1, 15, 12, 30)  # Moscow, UTC+3, as Excel has no zones
    assert (row["Направление"].value, row["Статус"].value) == ("входящий", "пропущен")
    assert row["Маршрут"].value == "очередь Default: никто не ответил за 60 с"
    clients = _sheet(web.get("/clients.xlsx"))
    assert clients.title == "Клиенты" and [c.value for c in clients[1]][:3] == ["ID", "ФИО", "Пометка"]
    tasks = _sheet(web.get("/tasks.xlsx"))
    task = {h.value: c.value for h, c in zip(tasks[1], tasks[2])}
    assert tasks.title == "Задачи" and task["Заголовок"] == "Call the bank"
    assert (task["Статус"], task["Просрочена"]) == ("новая", "да")
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})

    login(web, "john")
    sheet = _sheet(web.get("/calls.xlsx", params=period))
    header = [c.value for c in sheet[1]]
    assert sheet.title == "Calls" and header[:3] == ["Started", "Direction", "Caller"]
    row = {h: c.value for h, c in zip(header, sheet[2])}
    assert row["Started"] == dt.datetime(2026, 1, 15, 4, 30)  # New York, UTC-5
    assert (row["Direction"], row["Status"], row["Route"]) == ("incoming", "missed", "queue Default: nobody answered in 60 s")


async def test_a_report_file_refused_by_the_export_roles_computes_nothing(web, db, monkeypatch):
    """The export roles are checked before the report is computed: a refused request runs none of
    its queries (each report's computation counted here), an allowed one runs them."""
    import web.views.export as export
    from crm import appsettings

    ran: list[str] = []

    def counted(name: str):
        original = getattr(export, name)

        async def run(*args, **kw):
            ran.append(name)
            return await original(*args, **kw)
        monkeypatch.setattr(export, name, run)

    for name in ("visible", "consolidated", "managers_deals", "report_rows", "queue_data", "agent_data"):
        counted(name)
    admin = await make_user(db, "boss", "admin")
    await make_user(db, "mgr", "manager")  # reads the reports; not of the export roles (admins only)
    login(web, "mgr")
    paths = ("/reports/calls.xlsx", "/reports/deals.xlsx", "/reports/lines.xlsx", "/reports/queues.xlsx",
             "/reports/agents.xlsx")
    for path in paths:
        r = web.get(path)
        assert r.status_code == 403 and "exporting to Excel is for" in r.text, path
    assert ran == [], "refused before any of the report's queries"

    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, admin["id"], ["manager", "admin"])
    for path in paths:
        assert web.get(path).status_code == 200, path
    assert {"consolidated", "managers_deals", "report_rows", "queue_data", "agent_data"} <= set(ran)
