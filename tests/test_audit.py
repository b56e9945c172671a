"""The audit trail (issue 17, G5): a contact change in the admin's viewer (HTML, JSON, Excel) with
its old and new value and the address it came from; filters; admins only; the card's own
history with the diff; and every kind of thing, when changed, leaves a row."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from crm import appsettings, audit, sections
from crm.calls import queries as calls_q
from crm.calls.attach import attach_call, comment_call
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.dialing.queries import delete_rule, save_rule, set_user_phone
from crm.dialing.rules import RuleInput
from crm.greetings.queries import delete_greeting, insert_greeting
from crm.imports import jobs
from crm.ivr.model import MenuInput
from crm.ivr.queries import delete_menu, save_menu
from crm.lines.model import LineInput
from crm.lines.queries import delete_line, save_line
from crm.notes import add_note
from crm.queues.model import QueueInput
from crm.queues.queries import delete_queue, save_queue
from crm.recordings.policy import RecordingPolicy
from crm.recordings.queries import save_policy
from crm.routing.queries import set_manager_ring_seconds
from crm.tags import TagInput, save_tag, set_tag
from crm.tasks import queries as tq
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from crm.users.accounts import UserChanges, delete_user, set_own_locale, set_password, update_user
from tests.helpers import PASSWORD, csrf_from, login, make_user

OLD, NEW = "+7 916 555-44-33", "+7 916 555-44-34"
FROM = ("203.0.113.7", 50000)


@pytest.fixture
def admin_web(db, web_app):
    """A TestClient whose requests come from 203.0.113.7."""
    with TestClient(web_app, base_url="http://testserver", client=FROM) as client:
        yield client


async def _client_with_mobile(db, admin) -> tuple[int, int]:
    async with db.acquire() as conn:
        client = await service.create(conn, admin, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", contacts=(ContactInput("phone", OLD),)), "RU")
        contact = await conn.fetchval("SELECT id FROM contacts WHERE counterparty_id = $1", client)
    return client, contact


async def test_a_contact_change_in_the_viewer_export_and_card(admin_web, db):
    admin = await make_user(db, "adm", "admin", full_name="Anna Admin")
    await make_user(db, "op", "operator")
    client, contact = await _client_with_mobile(db, admin)
    assert login(admin_web, "adm").status_code == 303
    token = admin_web.cookies["pbxcrm_csrf"]
    r = admin_web.post(f"/counterparties/{client}/contacts/{contact}", data={"csrf_token": token, "value": NEW},
                       follow_redirects=False)
    assert r.status_code == 303

    page = admin_web.get(f"/admin/audit?entity=counterparty&id={client}")
    assert page.status_code == 200
    row = page.text[page.text.index('id="audit"'):]
    assert "changed a contact" in row and "203.0.113.7" in row and "Anna Admin" in row
    assert f'<del class="old">{OLD}</del> → <ins class="new">{NEW}</ins>' in row
    assert f'href="/counterparties/{client}"' in row

    data = admin_web.get(f"/admin/audit.json?entity=counterparty&id={client}&action=change+contact").json()
    assert data["total"] == 1 and not data["total_capped"]
    [item] = data["items"]
    assert item["address"] == "203.0.113.7" and item["user_id"] == admin["id"]
    assert {"field": "phone", "title": "Phone", "old": OLD, "new": NEW} in item["changes"]

    # The filters: each one narrows to this row or away from it.
    today = dt.date.today()
    found = {
        f"user={admin['id']}": 1, "address=203.0.113.0/24": 1, "address=203.0.113.7": 1,
        "address=198.51.100.0/24": 0, "address=2001:db8::/32": 0, "entity=task": 0,
        f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}": 1,
        f"from={today + dt.timedelta(days=2)}": 0, "user=system": 0,
    }
    for query, n in found.items():
        got = admin_web.get(f"/admin/audit.json?action=change+contact&{query}").json()
        assert got["total"] == n, query
    assert admin_web.get("/admin/audit.json?address=not-an-ip").status_code == 400
    assert admin_web.get("/admin/audit.json?from=2024-02-02&to=2024-02-01").status_code == 400
    assert admin_web.get("/admin/audit.json?user=abc").status_code == 400

    export = admin_web.get(f"/admin/audit.xlsx?entity=counterparty&id={client}")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["Time", "User", "Address"]
    assert any(r[2] == "203.0.113.7" and r[6] == "Phone" and r[7] == OLD and r[8] == NEW for r in values[1:])
    # The export itself is audited.
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit list'") == 1

    card = admin_web.get(f"/counterparties/{client}").text
    history = card[card.index('id="card-history"'):]
    assert f'<del class="old">{OLD}</del> → <ins class="new">{NEW}</ins>' in history

    # The card's JSON API changes a contact too, and it is audited the same way.
    r = admin_web.patch(f"/api/contacts/{contact}", json={"value": "+7 916 555-44-35"},
                        headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    latest = admin_web.get(f"/admin/audit.json?entity=counterparty&id={client}").json()["items"][0]
    assert {"field": "phone", "title": "Phone", "old": NEW, "new": "+7 916 555-44-35"} in latest["changes"]

    # Operators (and supervisors) are refused: page, JSON and file.
    admin_web.cookies.clear()
    login(admin_web, "op")
    for path in ("/admin/audit", "/admin/audit.json", "/admin/audit.xlsx"):
        assert admin_web.get(path).status_code == 403, path


async def test_logins_failed_logins_and_passwords_are_audited_without_secrets(admin_web, db):
    await make_user(db, "adm", "admin")
    assert login(admin_web, "adm", "wrong password").status_code != 303
    assert login(admin_web, "adm").status_code == 303
    items = admin_web.get("/admin/audit.json?entity=user").json()["items"]
    actions = {i["action"]: i for i in items}
    assert actions["login_failed"]["address"] == actions["login"]["address"] == "203.0.113.7"
    assert actions["login_failed"]["user_id"] is None
    page = admin_web.get("/account/password")
    admin_web.post("/account/password", data={"csrf_token": csrf_from(page.text), "current_password": PASSWORD,
                                              "new_password": "a much better secret 42",
                                              "repeat_password": "a much better secret 42"})
    async with db.acquire() as conn:
        stored = " ".join(r["changes"] for r in await conn.fetch("SELECT changes::text FROM audit_log"))
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'password_change'") == 1
    for secret in (PASSWORD, "wrong password", "a much better secret 42", "argon2"):
        assert secret not in stored


def _line(name: str, did: str) -> LineInput:
    return LineInput(name=name, trunk="trunk", did=did, route_kind="crm")


async def _every_change(conn, admin, operator) -> list[tuple[str, str]]:
    """Changes to each kind of thing the issue names; (entity, action) each must leave."""
    client = await service.create(conn, admin, CounterpartyInput(
        kind="client", last_name="Petrov", contacts=(ContactInput("phone", "+7 495 111-22-33"),)), "RU")
    company = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Romashka"), "RU")
    contact = await conn.fetchval("SELECT id FROM contacts WHERE counterparty_id = $1", client)
    queue = await save_queue(conn, admin["id"], None, QueueInput("Sales"))
    tag = await save_tag(conn, admin["id"], None, TagInput("VIP"))
    types = await tq.task_types(conn)
    task = await task_service.create(conn, admin, TaskInput("Call back", types[0]["id"], admin["id"]))
    rule = await save_rule(conn, admin["id"], None, RuleInput(pattern="8XXXXXXXXXX", strip=1, prepend="+7"))
    line = await save_line(conn, admin["id"], None, _line("City", "+74950000001"))
    greeting = await insert_greeting(conn, admin["id"], name="Hello", file="hello", original_name="hello.mp3",
                                     seconds=2)
    menu = await save_menu(conn, admin["id"], None, MenuInput(name="Main", prompt=f"greeting:{greeting}",
                                                             timeout_route="hangup", keys={"1": f"queue:{queue}"}))
    call = await calls_q.insert_call(conn, channel_id="audit-1", direction="incoming", caller_number="+74951112233",
                                     caller_normalized="+74951112233", caller_name="", called_number="100",
                                     called_normalized=None, line="PJSIP/trunk",
                                     started_at=dt.datetime.now(dt.timezone.utc), linked_id=None)
    steps = [
        (service.update(conn, admin, client, CounterpartyInput(kind="client", last_name="Petrova")),
         "counterparty", "update"),
        (service.update_contact(conn, admin, contact, ContactInput("phone", "+7 495 111-22-34"), "RU"),
         "counterparty", "change contact"),
        (service.add_contact(conn, admin, client, ContactInput("email", "p@example.com"), "RU"),
         "counterparty", "add contact"),
        (service.add_address(conn, admin, client, "Moscow, Tverskaya 1"), "counterparty", "add address"),
        (service.join_company(conn, admin, client, company), "counterparty", "join company"),
        (add_note(conn, admin, body="Wants a discount", counterparty_id=client), "counterparty", "add note"),
        (set_tag(conn, admin, "counterparty", client, tag, on=True), "counterparty", "tag"),
        (save_tag(conn, admin["id"], tag, TagInput("VIP", "big ones")), "tag", "update"),
        (task_service.update(conn, admin, task, TaskInput("Call back today", types[0]["id"], admin["id"],
                                                          status="in_progress"), dt.datetime.now(dt.timezone.utc)),
         "task", "update"),
        (tq.save_task_type(conn, None, "Visit", False, False, admin["id"]), "task_type", "create"),
        (save_queue(conn, admin["id"], queue, QueueInput("Sales", ring_seconds=20)), "queue", "update"),
        (set_manager_ring_seconds(conn, 30, admin["id"]), "settings", "manager ring"),
        (appsettings.set_centre_language(conn, admin["id"], "ru"), "settings", "language"),
        (appsettings.set_export_roles(conn, admin["id"], ["manager"]), "settings", "export roles"),
        (sections.save(conn, admin["id"], {"clients": {"en": sections.Names("Dealers", "dealer")}}),
         "settings", "rename sections"),
        (save_policy(conn, RecordingPolicy("none"), admin["id"]), "settings", "recording policy"),
        (update_user(conn, admin["id"], operator["id"], UserChanges("Olga Operator", "manager", None, None, False)),
         "user", "update"),
        (set_user_phone(conn, admin["id"], operator["id"], dial=None, mobile="+79160000000", follow_me_seconds=None),
         "user", "phone"),
        (set_own_locale(conn, operator["id"], "ru", None), "user", "locale"),
        (set_password(conn, operator["login"], "another fine password 7", by=admin["id"]), "user", "password_reset"),
        (comment_call(conn, admin, call, "asked for a price"), "call", "comment"),
        (attach_call(conn, admin, call, client), "call", "attach"),
        (jobs.create(conn, admin["id"], "counterparties", "valid", "clients.xlsx"), "import", "start"),
        (save_rule(conn, admin["id"], rule, RuleInput(pattern="8XXXXXXXXXX", strip=1, prepend="+7", note="long")),
         "dial_rule", "update"),
        (save_line(conn, admin["id"], line, _line("City 2", "+74950000001")), "line", "update"),
        (save_menu(conn, admin["id"], menu, MenuInput(name="Main 2", prompt=f"greeting:{greeting}",
                                                      timeout_route="hangup", keys={"2": "hangup"})),
         "ivr_menu", "update"),
        (delete_menu(conn, admin["id"], menu), "ivr_menu", "delete"),
        (delete_greeting(conn, admin["id"], greeting), "greeting", "delete"),
        (delete_line(conn, admin["id"], line), "line", "delete"),
        (delete_rule(conn, admin["id"], rule), "dial_rule", "delete"),
        (set_tag(conn, admin, "counterparty", client, tag, on=False), "counterparty", "untag"),
        (delete_queue(conn, admin["id"], queue), "queue", "delete"),
        (service.delete(conn, admin, company), "counterparty", "delete"),
        (delete_user(conn, admin["id"], operator["id"]), "user", "delete"),
    ]
    expected = []
    for step, entity, action in steps:
        before = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = $1 AND action = $2",
                                     entity, action)
        await step
        after = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = $1 AND action = $2",
                                    entity, action)
        assert after == before + 1, (entity, action)
        expected.append((entity, action))
    return expected


async def test_every_kind_of_change_leaves_a_row_with_its_diff(admin_web, db):
    admin = await make_user(db, "adm", "admin")
    operator = await make_user(db, "olga", "operator", full_name="Olga", extension="150")
    async with db.acquire() as conn:
        with audit.acting_from("198.51.100.9"):
            expected = await _every_change(conn, admin, operator)
        rows = await conn.fetch("SELECT entity, action, changes::text, host(address) AS address, canonical "
                                "FROM audit_log")
        await conn.execute("DELETE FROM app_settings WHERE key = 'locale.language'")  # pages in the browser's
    assert len(expected) >= 30
    for row in rows:
        assert row["canonical"], row
        changes = json.loads(row["changes"])
        assert all(isinstance(v, list) and len(v) == 2 for v in changes.values()), row
        if (row["entity"], row["action"]) in expected:
            assert row["address"] == "198.51.100.9", row
    # An update keeps the field's old and new value.
    updates = {(r["entity"], r["action"]): json.loads(r["changes"]) for r in rows}
    assert updates["counterparty", "update"]["last_name"] == ["Petrov", "Petrova"]
    assert updates["task", "update"]["status"] == ["new", "in_progress"]
    assert updates["queue", "update"] == {"ring_seconds": [15, 20]}
    assert updates["settings", "recording policy"]["mode"] == ["all", "none"]
    assert updates["settings", "manager ring"]["manager_ring_seconds"][1] == 30
    assert updates["user", "update"]["role"] == ["operator", "manager"]
    assert updates["user", "password_reset"]["password"] == [audit.MASK, audit.MASK]
    assert updates["ivr_menu", "update"]["name"] == ["Main", "Main 2"]
    assert updates["line", "update"]["name"] == ["City", "City 2"]
    assert updates["call", "comment"]["comment"] == ["", "asked for a price"]

    # The viewer shows each kind, its field names in words, and the system's rows.
    login(admin_web, "adm")
    page = admin_web.get("/admin/audit?size=200")
    assert page.status_code == 200
    for words in ("Last name", "Petrov", "Petrova", "Ring, s", "198.51.100.9", "recording policy"):
        assert words in page.text, words
    ru = admin_web.get("/admin/audit?entity=counterparty", headers={"Accept-Language": "ru"})
    assert "Фамилия" in ru.text or "фамилия" in ru.text.lower()


async def test_old_rows_keep_their_shapes_in_the_viewer(admin_web, db):
    """Rows written before migration 0030 ({field: value}, no address) show as they were."""
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO audit_log (user_id, entity, entity_id, action, changes, canonical) VALUES
               ($1, 'queue', 5, 'save', '{"name": "Sales", "members": [3, 4]}', false),
               ($1, 'counterparty', 7, 'update', '{"remark": ["old words", "new words"]}', false)""", admin["id"])
    login(admin_web, "adm")
    items = {i["entity"]: i for i in admin_web.get("/admin/audit.json").json()["items"]}
    assert {"field": "members", "title": "Members", "old": None, "new": [3, 4]} in items["queue"]["changes"]
    assert {"field": "remark", "title": "Remark", "old": "old words", "new": "new words"} in \
        items["counterparty"]["changes"]
    assert items["queue"]["address"] is None
