"""The workspace through HTTP, in-process: timeline rules, task notes and search, tag roles."""

import datetime as dt

from crm import notes, tags
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import csrf_from, login, make_user


async def _type(db, name):
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT id FROM task_types WHERE name = $1", name)


async def test_company_timeline_rolls_up_its_clients_with_a_switch_and_remembers_toggles(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        company = await service.create(conn, mgr, CounterpartyInput(
            kind="company", company_name="Vostok", contacts=(ContactInput("phone", "+7 812 000-00-01"),)), "RU")
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Lis",
                                                                   company_ids=(company,)), "RU")
        await notes.add_note(conn, mgr, body="note on the client", counterparty_id=client)
        await notes.add_note(conn, mgr, body="note on the company", counterparty_id=company)
        # A call from the client's colleague's number to the company's number: on both cards (B4).
        other = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Orel", contacts=(ContactInput("phone", "+7 916 000-00-02"),)), "RU")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number,
                                  called_normalized, started_at, status, counterparty_id, comment)
               VALUES ('b4.1', 'incoming', '89160000002', '+79160000002', '88120000001', '+78120000001', now(),
                       'answered', $1, 'asked for Vostok')""", other)
    login(web, "mgr")
    page = web.get(f"/counterparties/{company}").text
    timeline = page.split('id="timeline"')[1]
    assert "note on the client" in timeline and "note on the company" in timeline
    own = web.get(f"/counterparties/{company}?own=1").text.split('id="timeline"')[1]
    assert "note on the company" in own and "note on the client" not in own
    # Choosing calls too (the filter form POSTs) is remembered for every card.
    r = web.post(f"/counterparties/{company}/timeline-kinds",
                 data={"csrf_token": csrf_from(page), "kinds": ["note", "call", ""]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/counterparties/{company}"
    chosen = web.get(r.headers["location"]).text.split('id="timeline"')[1]
    assert "asked for Vostok" in chosen
    later = web.get(f"/counterparties/{other}").text.split('id="timeline"')[1]
    assert "asked for Vostok" in later  # the same call on the other party's card, calls still chosen
    notes_only = web.get(f"/counterparties/{other}?kinds=note&kinds=").text.split('id="timeline"')[1]
    assert "asked for Vostok" not in notes_only


async def test_task_notes_and_task_search_by_title_counterparty_and_number(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov"), "RU")
        first = await task_service.create(conn, mgr, TaskInput(title="Prepare offer", type_id=await _type(db, "Task"),
                                                               responsible_user_id=mgr["id"], counterparty_id=client))
        second = await task_service.create(conn, mgr, TaskInput(title="Visit the warehouse",
                                                                type_id=await _type(db, "Meeting"),
                                                                responsible_user_id=mgr["id"]))
    login(web, "mgr")
    page = web.get(f"/tasks/{first}").text
    r = web.post(f"/tasks/{first}/notes", data={"csrf_token": csrf_from(page), "body": "price +5%"},
                 follow_redirects=False)
    assert r.status_code == 303 and "price +5%" in web.get(f"/tasks/{first}").text

    def found(q):
        rows = web.get("/tasks", params={"q": q}).text.split("<tbody>")[1]
        return [n for n in (first, second) if f'data-id="{n}"' in rows]

    assert found("offer") == [first]
    assert found("zhuk") == [first]  # the counterparty's name
    assert found(f"#{second}") == [second]
    assert found(str(second)) == [second]


async def test_a_tag_limited_to_some_roles_is_refused_to_others(web, db):
    op = await make_user(db, "op", "operator")
    async with db.acquire() as conn:
        client = await service.create(conn, op, CounterpartyInput(kind="client", last_name="Free"), "RU")
        vip = await tags.save_tag(conn, op["id"], None, tags.TagInput("VIP", allowed_roles=("manager", "admin")))
    login(web, "op")
    page = web.get(f"/counterparties/{client}").text
    assert 'value="{}">VIP'.format(vip) not in page  # not offered
    r = web.post(f"/counterparties/{client}/tags", data={"csrf_token": csrf_from(page), "tag_id": str(vip)})
    assert r.status_code == 403 and "may not use the tag VIP" in r.text


async def test_the_admin_keeps_the_list_of_task_types(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    assert web.post("/admin/task-types", data={"csrf_token": token, "name": "Presentation"},
                    follow_redirects=False).status_code == 303
    assert web.post("/admin/task-types", data={"csrf_token": token, "name": "presentation"}).status_code == 409
    meeting = await _type(db, "Meeting")
    web.post("/admin/task-types", data={"csrf_token": token, "id": str(meeting), "name": "Meeting",
                                        "archived": "on"})
    form = web.get("/tasks/new").text.split('name="type_id"')[1].split("</select>")[0]
    assert "Presentation" in form and "Meeting" not in form  # archived types are not offered for new tasks
    await make_user(db, "op", "operator")
    web.post("/logout", data={"csrf_token": token})
    login(web, "op")
    assert web.get("/admin/task-types").status_code == 403


async def test_task_report_filters_by_created_deadline_and_closed_periods(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        t = await _type(db, "Task")
        for title, created, deadline, closed in [
                ("october", "2026-10-05 12:00", "2026-10-10", "2026-10-09 12:00"),
                ("november", "2026-11-05 12:00", "2026-11-20", None),
                ("late night", "2026-11-30 23:30", "2026-12-01", "2026-12-02 00:30")]:
            await conn.execute(
                """INSERT INTO tasks (title, type_id, status, responsible_user_id, created_at, deadline_date, closed_at)
                   VALUES ($1, $2, CASE WHEN $5::timestamp IS NULL THEN 'new' ELSE 'done' END, $3,
                           $4::timestamp AT TIME ZONE 'Europe/Moscow', $6::date,
                           $5::timestamp AT TIME ZONE 'Europe/Moscow')""",
                title, t, mgr["id"], dt.datetime.fromisoformat(created),
                dt.datetime.fromisoformat(closed) if closed else None,
                dt.date.fromisoformat(deadline))
    login(web, "mgr")

    def titles(**params):
        body = web.get("/tasks", params={"status": "all", **params}).text.split("<tbody>")[1]
        return sorted(n for n in ("october", "november", "late night") if f">{n}</a>" in body)

    assert titles(created_from="2026-11-01", created_to="2026-11-30") == ["late night", "november"]
    assert titles(deadline_from="2026-11-01", deadline_to="2026-11-30") == ["november"]
    # Closed 00:30 on 2 December in Moscow is 2 December, whatever UTC says.
    assert titles(closed_from="2026-12-02") == ["late night"]
    assert titles(closed_to="2026-10-31") == ["october"]
    assert web.get("/tasks", params={"created_from": "last week"}).status_code == 400
