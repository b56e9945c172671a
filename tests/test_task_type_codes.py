"""Task types found by a stable key (issue 20, H8, H10): the admin renames "Call back" and
"Scheduled call" and the product still makes callbacks and call lists of them; an imported call
list's row keeps its number in its own field, dialled from the task's page. And the `db` fixture
gives every test the migration's task types, whatever the test before it did to them."""

import datetime as dt

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.migrate import load_migrations
from crm.tasks import callbacks
from tests.helpers import csrf_from, login, make_user, upload, workbook


async def _types(db) -> dict[str, tuple[int, str, bool]]:
    async with db.acquire() as conn:
        return {r["code"]: (r["id"], r["name"], r["archived"])
                for r in await conn.fetch("SELECT id, code, name, archived FROM task_types WHERE code IS NOT NULL")}


def _rename(web, type_id: int, name: str) -> None:
    token = csrf_from(web.get("/admin/task-types").text)
    r = web.post("/admin/task-types", data={"csrf_token": token, "id": str(type_id), "name": name},
                 follow_redirects=False)
    assert r.status_code == 303, r.text


async def test_renamed_types_still_make_callbacks_and_call_lists(web, db):
    await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager")
    types = await _types(db)
    login(web, "adm")
    _rename(web, types["callback"][0], "Перезвонить клиенту")
    _rename(web, types["scheduled_call"][0], "Обзвон")
    assert {c: n for c, (_i, n, _a) in (await _types(db)).items()}["callback"] == "Перезвонить клиенту"

    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        for channel, number, who in (("m.1", "84951234567", client), ("m.2", "89990001122", None)):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number,
                                      started_at, ended_at, status, counterparty_id)
                   VALUES ($1, 'incoming', $2, $3, '74957654321', now(), now(), 'missed', $4)""",
                channel, number, "+7" + number[1:], who)
        known = await callbacks.create_for_missed_call(conn, "m.1", "Europe/Moscow", "RU")
        stranger = await callbacks.create_for_missed_call(conn, "m.2", "Europe/Moscow", "RU")
        made = {r["id"]: r["type_id"] for r in await conn.fetch("SELECT id, type_id FROM tasks")}
    assert known is not None and stranger is not None
    assert made == {known: types["callback"][0], stranger: types["callback"][0]}
    page = web.get(f"/tasks/{known}").text
    assert "Перезвонить клиенту" in page.split('name="type_id"')[1].split("</select>")[0]

    job = upload(web, workbook(["Number", "Counterparty", "When", "Responsible", "Note"], [
        ["+7 916 555-00-11", "New lead", dt.datetime(2026, 12, 2, 15, 0), "ivanova", "offer the new tariff"]]),
        kind="call_list")
    assert job["applied"] == 1 and job["rejected"] == []
    async with db.acquire() as conn:
        task = await conn.fetchrow("SELECT * FROM tasks WHERE type_id = $1", types["scheduled_call"][0])
    assert task is not None and task["title"] == "Call New lead"
    # The number in its own field (not only in the remark), with a dial button on the task's page.
    assert (task["callback_number"], task["callback_normalized"]) == ("+79165550011", "+79165550011")
    assert task["remark"] == "offer the new tariff" and task["callback_for_date"] is None
    page = web.get(f"/tasks/{task['id']}").text
    number = page.split('id="task-number"')[1].split("</p>")[0]
    assert 'class="call" data-call="+79165550011"' in number


@pytest.mark.parametrize("turn", [1, 2])
async def test_a_test_archiving_or_renaming_types_leaves_nothing_to_the_next(web, db, turn):
    """Run twice: whichever runs second finds the migration's types, named and live, and no others."""
    types = await _types(db)
    assert {c: (n, a) for c, (_i, n, a) in types.items()} == {
        "task": ("Task", False), "callback": ("Call back", False), "meeting": ("Meeting", False),
        "scheduled_call": ("Scheduled call", False), "deal": ("Deal", False)}
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM task_types WHERE code IS NULL") == 0
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = csrf_from(web.get("/admin/task-types").text)
    web.post("/admin/task-types", data={"csrf_token": token, "id": str(types["meeting"][0]), "name": "Meeting",
                                        "archived": "on"})
    _rename(web, types["task"][0], "Дело")
    assert web.post("/admin/task-types", data={"csrf_token": token, "name": "Совещание"},
                    follow_redirects=False).status_code == 303
    after = await _types(db)
    assert after["meeting"][2] and after["task"][1] == "Дело"


async def test_the_migration_gives_codes_by_name_and_brings_back_a_type_renamed_before_it(db):
    """Migration 0037's data steps on a base where "Call back" had been renamed (and so was lost to
    the product): the others get their codes, the renamed type stays as it is, a "Call back" is made."""
    migration = next(m for m in load_migrations() if m.version == 37)
    steps = migration.sql.split("ADD COLUMN code text UNIQUE CHECK (code ~ '^[a-z_]{1,40}$');", 1)[1]
    async with db.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute("UPDATE task_types SET code = NULL")
            await conn.execute("UPDATE task_types SET name = 'Перезвонить' WHERE name = 'Call back'")
            await conn.execute("UPDATE task_types SET name = 'SCHEDULED CALL' WHERE name = 'Scheduled call'")
            renamed = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Перезвонить'")
            await conn.execute(steps)
            rows = {r["name"]: (r["id"], r["code"]) for r in await conn.fetch("SELECT id, name, code FROM task_types")}
        finally:
            await tr.rollback()
    assert rows["Перезвонить"] == (renamed, None)  # kept, as the admin named it
    assert rows["Call back"][1] == "callback" and rows["Call back"][0] != renamed
    assert rows["SCHEDULED CALL"][1] == "scheduled_call"  # found by its name in any case, not doubled
    assert {rows[n][1] for n in ("Task", "Meeting", "Deal")} == {"task", "meeting", "deal"}
    assert len(rows) == 6
