"""The task form through HTTP (C1, issue 20): the counterparty chosen by search as you type (its JSON
endpoint), changed or removed; participants added and taken off, audited."""

import json

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import csrf_from, login, make_user


async def _type(db, code):
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT id FROM task_types WHERE code = $1", code)


async def test_the_counterparty_search_finds_clients_and_companies_as_one_types(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Zhukov", first_name="Pavel", remark="pays late",
            contacts=(ContactInput("phone", "+7 916 111-22-33"),)), "RU")
        company = await service.create(conn, mgr, CounterpartyInput(kind="company", company_name="Zhukov and Sons"), "RU")
        await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Orlov"), "RU")
        gone = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukova",
                                                                 responsible_user_id=mgr["id"]), "RU")
        await service.delete(conn, mgr, gone)
    assert web.get("/api/counterparties/find?q=zhu").status_code in (401, 303)  # not logged in
    login(web, "mgr")
    found = web.get("/api/counterparties/find?q=zhu").json()["items"]
    assert found == [{"id": client, "kind": "client", "name": "Zhukov Pavel", "remark": "pays late"},
                     {"id": company, "kind": "company", "name": "Zhukov and Sons", "remark": ""}]
    assert [i["id"] for i in web.get("/api/counterparties/find?q=8 916 111 22").json()["items"]] == [client]
    assert web.get("/api/counterparties/find?q=z").json() == {"items": []}  # one letter: not yet
    assert web.get("/api/counterparties/find?q=" + "x" * 5000).status_code == 400


async def test_the_counterparty_is_chosen_changed_and_removed_in_the_form(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        first = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov"), "RU")
        second = await service.create(conn, mgr, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
    login(web, "mgr")
    form = web.get(f"/tasks/new?counterparty={first}").text
    chooser = form.split('id="task-counterparty"')[1].split("</fieldset>")[0]
    assert f'name="counterparty_id" value="{first}"' in chooser and "Zhukov" in chooser
    assert 'data-find="/api/counterparties/find"' in form and "/static/counterparty_picker.js" in form
    base = {"csrf_token": csrf_from(form), "title": "Send the offer", "type_id": str(await _type(db, "task")),
            "status": "new"}
    r = web.post("/tasks/new", data={**base, "counterparty_id": str(first)}, follow_redirects=False)
    assert r.status_code == 303
    task = int(r.headers["location"].rsplit("/", 1)[1])
    r = web.post(f"/tasks/{task}", data={**base, "counterparty_id": str(second)}, follow_redirects=False)
    assert r.status_code == 303
    page = web.get(f"/tasks/{task}").text
    assert "Vostok" in page.split('id="task-counterparty"')[1].split("</fieldset>")[0]
    # A counterparty that does not exist is refused next to the chooser, the form kept.
    r = web.post(f"/tasks/{task}", data={**base, "counterparty_id": "999999"})
    assert r.status_code == 400 and 'id="error-counterparty_id"' in r.text
    assert web.post(f"/tasks/{task}", data={**base, "counterparty_id": ""}, follow_redirects=False).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT counterparty_id FROM tasks WHERE id = $1", task) is None
        changes = [json.loads(r["changes"]).get("counterparty_id") for r in await conn.fetch(
            "SELECT changes FROM audit_log WHERE entity = 'task' AND entity_id = $1 ORDER BY id", task)]
    assert changes == [[None, first], [first, second], [second, None]]


async def test_participants_are_added_and_taken_off(web, db):
    mgr = await make_user(db, "mgr", "manager")
    olga = await make_user(db, "olga", "operator", full_name="Olga Operator")
    petr = await make_user(db, "petr", "operator", full_name="Petr Operator")
    await make_user(db, "ivan", "operator")
    login(web, "mgr")
    form = web.get("/tasks/new").text
    base = {"csrf_token": csrf_from(form), "title": "Prepare the demo", "type_id": str(await _type(db, "meeting")),
            "status": "new", "responsible_user_id": str(mgr["id"])}
    r = web.post("/tasks/new", data={**base, "participant_ids": [str(olga["id"]), str(petr["id"])]},
                 follow_redirects=False)
    task = int(r.headers["location"].rsplit("/", 1)[1])

    async def participants():
        async with db.acquire() as conn:
            return sorted(r["user_id"] for r in await conn.fetch(
                "SELECT user_id FROM task_participants WHERE task_id = $1", task))

    assert await participants() == sorted([olga["id"], petr["id"]])
    page = web.get(f"/tasks/{task}").text
    assert f'value="{olga["id"]}" checked' in page and f'value="{petr["id"]}" checked' in page
    # Petr taken off; the task is no longer his to change.
    assert web.post(f"/tasks/{task}", data={**base, "participant_ids": [str(olga["id"])]},
                    follow_redirects=False).status_code == 303
    assert await participants() == [olga["id"]]
    async with db.acquire() as conn:
        last = json.loads(await conn.fetchval(
            "SELECT changes FROM audit_log WHERE entity = 'task' AND entity_id = $1 ORDER BY id DESC LIMIT 1", task))
    assert last == {"participant_ids": [sorted([olga["id"], petr["id"]]), [olga["id"]]]}
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "olga")  # a participant changes the task
    page = web.get(f"/tasks/{task}").text
    assert 'id="task-form"' in page and ">Save</button>" in page
    assert web.post(f"/tasks/{task}", data={**base, "csrf_token": csrf_from(page), "participant_ids": []},
                    follow_redirects=False).status_code == 303
    assert await participants() == []
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "petr")  # no longer one of the task's people
    token = csrf_from(web.get(f"/tasks/{task}").text)
    r = web.post(f"/tasks/{task}", data={**base, "csrf_token": token, "participant_ids": [str(petr["id"])]})
    assert r.status_code == 403
    # An unknown user is refused.
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "mgr")
    token = csrf_from(web.get(f"/tasks/{task}").text)
    r = web.post(f"/tasks/{task}", data={**base, "csrf_token": token, "participant_ids": ["999999"]})
    assert r.status_code == 400 and await participants() == []
