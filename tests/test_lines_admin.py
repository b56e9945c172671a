"""Lines and DIDs in the admin's pages (issue 15): create, edit, delete, the checks, rights, Russian."""

from __future__ import annotations

import json
import re

from crm.lines import queries as lines_q
from tests.helpers import login, make_user


def _form(token: str, **fields) -> dict:
    base = {"csrf_token": token, "name": "Promo spring", "did": "+7 495 777-00-00", "trunk": "trunk",
            "language": "ru", "route_kind": "crm", "route_queue_id": "", "route_user_id": "",
            "hours_0": "09:00-13:00, 14:00-18:00", "hours_4": "09:00-17:00", "hours_5": "22:00-02:00",
            "holidays": "2025-01-01 New Year\n2025-12-31 10:00-15:00 New Year's Eve",
            "after_hours_kind": "hangup", "after_hours_queue_id": "", "after_hours_user_id": ""}
    return {**base, **{k: str(v) for k, v in fields.items()}}


async def _admin_and_targets(db):
    admin = await make_user(db, "adm", "admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    async with db.acquire() as conn:
        sales = await conn.fetchval("INSERT INTO queues (name) VALUES ('Sales') RETURNING id")
    return admin, petrov, sales


def _field_error(html: str, field: str) -> str:
    m = re.search(rf'id="error-{field}">([^<]*)<', html)
    return m.group(1) if m else ""


async def test_an_admin_creates_edits_and_deletes_a_line_with_business_hours(web, db):
    admin, petrov, sales = await _admin_and_targets(db)
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    assert web.get("/admin/lines/new").status_code == 200
    r = web.post("/admin/lines", data=_form(token, route_kind="queue", route_queue_id=sales, hours_enabled="on",
                                            after_hours_kind="user", after_hours_user_id=petrov["id"]),
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        (line,) = await lines_q.load_lines(conn)
        audit = await conn.fetchrow("SELECT * FROM audit_log WHERE entity = 'line'")
    assert (line.name, line.did, line.trunk, line.language) == ("Promo spring", "+74957770000", "trunk", "ru")
    assert (line.route.kind, line.route.queue.id, line.after_hours.kind, line.after_hours.user.user_id) == (
        "queue", sales, "user", petrov["id"])
    assert [len(day) for day in line.hours.weekly] == [2, 0, 0, 0, 1, 1, 0]
    assert line.hours.holidays[__import__("datetime").date(2025, 12, 31)].name == "New Year's Eve"
    assert audit["user_id"] == admin["id"] and audit["action"] == "create"
    assert json.loads(audit["changes"])["did"] == [None, "+74957770000"]

    page = web.get("/admin/lines").text
    row = page.split(f'data-line="{line.id}"')[1].split("</tr>")[0]
    assert "Promo spring" in row and "+74957770000" in row and "queue Sales" in row and "user Pavel Petrov" in row
    assert all(f'data-label="{name}"' in row for name in ("Name", "Number", "Trunk", "Calls go to", "After hours"))
    assert 'href="/admin/lines"' in web.get("/clients").text, "the admin's nav links the lines"

    form = web.get(f"/admin/lines/{line.id}").text
    assert 'value="09:00-13:00, 14:00-18:00"' in form and 'value="22:00-02:00"' in form
    assert "2025-12-31 10:00-15:00 New Year&#39;s Eve" in form and "checked" in form

    r = web.post(f"/admin/lines/{line.id}", data=_form(token, name="Promo summer", route_kind="user",
                                                       route_user_id=petrov["id"]), follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        (line,) = await lines_q.load_lines(conn)
    assert (line.name, line.route.kind, line.route.user.name, line.hours) == (
        "Promo summer", "user", "Pavel Petrov", None), "hours off: always open"

    r = web.post(f"/admin/lines/{line.id}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Promo summer" not in web.get("/admin/lines").text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT deleted_at IS NOT NULL FROM lines WHERE id = $1", line.id)
        assert await lines_q.load_lines(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'line'") == 3
    # The number is free again for a new line.
    assert web.post("/admin/lines", data=_form(token), follow_redirects=False).status_code == 303


async def test_bad_input_is_refused_next_to_its_field_with_what_was_typed_kept(web, db):
    _admin, petrov, sales = await _admin_and_targets(db)
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    r = web.post("/admin/lines", data=_form(token, name="", did="77-ab", trunk="my trunk", hours_2="9-18",
                                            holidays="2025-02-30 Nope", route_kind="queue"))
    assert r.status_code == 400
    assert "a number is digits" in _field_error(r.text, "did")
    assert "trunk is the name of a PJSIP endpoint" in _field_error(r.text, "trunk")
    assert _field_error(r.text, "hours_2") == "&#39;9-18&#39; is not a time range such as 09:00-18:00"
    assert "line 1: &#39;2025-02-30&#39; is not a date" in _field_error(r.text, "holidays")
    assert _field_error(r.text, "route_queue_id") == "choose the queue"
    assert 'value="77-ab"' in r.text and 'value="9-18"' in r.text, "the form comes back as typed"

    assert web.post("/admin/lines", data=_form(token, name="First"), follow_redirects=False).status_code == 303
    twin = web.post("/admin/lines", data=_form(token, name="Second", did="74957770000"))
    assert twin.status_code == 400
    assert _field_error(twin.text, "did") == "number 74957770000 on trunk trunk is line First&#39;s already"
    other_trunk = web.post("/admin/lines", data=_form(token, name="Second", did="74957770000", trunk="trunk2"),
                           follow_redirects=False)
    assert other_trunk.status_code == 303, "the same number on another trunk is another line"

    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET deleted_at = now() WHERE id = $1", sales)
        await conn.execute("UPDATE users SET is_blocked = true WHERE id = $1", petrov["id"])
    r = web.post("/admin/lines", data=_form(token, name="Third", did="74957770001", route_kind="queue",
                                            route_queue_id=sales, after_hours_kind="user",
                                            after_hours_user_id=petrov["id"]))
    assert r.status_code == 400
    assert _field_error(r.text, "route_queue_id") == "queue Sales is deleted: choose another"
    assert _field_error(r.text, "after_hours_user_id") == "Pavel Petrov is deleted or blocked: choose another user"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM lines") == 2


async def test_a_line_whose_queue_was_deleted_later_says_so_in_the_list(web, db):
    _admin, _petrov, sales = await _admin_and_targets(db)
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    web.post("/admin/lines", data=_form(token, route_kind="queue", route_queue_id=sales))
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET deleted_at = now() WHERE id = $1", sales)
    row = web.get("/admin/lines").text.split('class="route">')[1].split("</td>")[0]
    assert "queue Sales" in row and "(deleted)" in row


async def test_lines_are_for_admins_only(web, db):
    await make_user(db, "op", "operator")
    await make_user(db, "mgr", "manager")
    for who in ("op", "mgr"):
        login(web, who)
        assert web.get("/admin/lines").status_code == 403
        assert web.get("/admin/lines/new").status_code == 403
        r = web.post("/admin/lines", data=_form(web.cookies["pbxcrm_csrf"]))
        assert r.status_code == 403
        assert 'href="/admin/lines"' not in web.get("/clients").text
        web.cookies.clear()
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM lines") == 0


async def test_without_the_csrf_token_nothing_is_saved(web, db):
    await _admin_and_targets(db)
    login(web, "adm")
    form = _form("")
    del form["csrf_token"]
    assert web.post("/admin/lines", data=form).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM lines") == 0


async def test_the_line_pages_in_russian(web, db):
    await _admin_and_targets(db)
    login(web, "adm")
    ru = {"Accept-Language": "ru"}
    token = web.cookies["pbxcrm_csrf"]
    web.post("/admin/lines", data=_form(token, hours_enabled="on"))
    page = web.get("/admin/lines", headers=ru).text
    assert "<h1>Линии</h1>" in page and "по расписанию" in page and 'data-label="Номер"' in page
    form = web.get("/admin/lines/new", headers=ru).text
    assert "Понедельник" in form and "Часы работы" in form
    bad = web.post("/admin/lines", data=_form(token, did="x", hours_1="9-18"), headers=ru)
    assert "не диапазон времени" in _field_error(bad.text, "hours_1"), _field_error(bad.text, "hours_1")


async def test_the_call_log_and_the_card_show_the_line_of_a_call(web, db):
    from tests.helpers import ivanova_and_her_client

    ivanova, client = await ivanova_and_her_client(db)
    await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        line = await conn.fetchval("INSERT INTO lines (name, trunk, did) VALUES ('Promo spring', 'trunk', '74957770000') "
                                   "RETURNING id")
        await conn.execute("""INSERT INTO calls (channel_id, direction, caller_number, called_number, line, started_at,
                                                 status, counterparty_id, line_id)
                              VALUES ('c.1', 'incoming', '84951234567', '74957770000', 'PJSIP/trunk', now(),
                                      'missed', $1, $2)""", client, line)
        await conn.execute("UPDATE lines SET deleted_at = now()")  # a deleted line's calls keep its name
    login(web, "adm")
    cell = web.get("/calls").text.split('data-label="Line" class="line">')[1].split("</td>")[0]
    assert cell == "Promo spring <small>PJSIP/trunk</small>"
    card = web.get(f"/counterparties/{client}").text.split('id="card-calls"')[1].split("</table>")[0]
    assert '<td data-label="Line" class="line">Promo spring</td>' in card
