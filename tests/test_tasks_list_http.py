"""The Tasks section through HTTP (C1, C3, issue 20): the default view is the user's own open tasks by
deadline; every column sorts (whitelisted); filter by task type; the remark shown and searched."""

import datetime as dt
import functools
import re
from decimal import Decimal

import pytest

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.tasks import queries as tq
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import login, make_user

TODAY = dt.date.today()


async def _types(conn) -> dict[str, int]:
    return {r["code"]: r["id"] for r in await conn.fetch("SELECT id, code FROM task_types WHERE code IS NOT NULL")}


@pytest.fixture
async def four_tasks(db):
    """Four tasks differing in every column, Maria's two open, Boris's and Anna's not hers."""
    maria = await make_user(db, "maria", "manager", full_name="Maria Manager")
    boris = await make_user(db, "boris", "manager", full_name="Boris Other")
    anna = await make_user(db, "anna", "supervisor", full_name="Anna Admin")
    async with db.acquire() as conn:
        types = await _types(conn)
        cp = {name: await service.create(conn, maria, CounterpartyInput(kind="client", last_name=name), "RU")
              for name in ("Alpha", "Beta", "Gamma")}
        specs = [  # title, type, status, responsible, deadline, counterparty, amount, outcome, remark
            ("Delta", "task", "new", maria, TODAY + dt.timedelta(days=3), "Beta", None, None, "bring the contract"),
            ("alpha", "meeting", "in_progress", maria, TODAY + dt.timedelta(days=1), "Alpha", None, None, ""),
            ("Charlie", "deal", "done", anna, TODAY + dt.timedelta(days=2), None, Decimal("500"), "won", ""),
            ("bravo", "deal", "cancelled", boris, None, "Gamma", Decimal("100"), "lost", "ask about the warehouse"),
        ]
        ids = []
        for i, (title, kind, status, who, deadline, counterparty, amount, outcome, remark) in enumerate(specs):
            task = await task_service.create(conn, anna, TaskInput(
                title=title, type_id=types[kind], responsible_user_id=who["id"], status=status,
                deadline_date=deadline, counterparty_id=cp[counterparty] if counterparty else None,
                amount=amount, outcome=outcome, remark=remark))
            # Created in another order than the ids run.
            await conn.execute("UPDATE tasks SET created_at = now() - make_interval(days => $2) WHERE id = $1",
                               task, (i * 7) % 4)
            ids.append(task)
        rows = [dict(r) for r in await conn.fetch(
            """SELECT t.*, tt.name AS type_name, u.full_name AS responsible_name, cp.display_name AS counterparty_name
               FROM tasks t JOIN task_types tt ON tt.id = t.type_id JOIN users u ON u.id = t.responsible_user_id
               LEFT JOIN counterparties cp ON cp.id = t.counterparty_id ORDER BY t.id""")]
    return {"maria": maria, "boris": boris, "anna": anna, "ids": ids, "rows": rows, "types": types}


def _shown(page: str) -> list[int]:
    body = page.split('id="tasks"')[1].split("</table>")[0]
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', body)]


# What each sort key orders by, read from the row as the database has it.
VALUE = {
    "number": lambda r: r["id"], "title": lambda r: r["title"].lower(), "type": lambda r: r["type_name"],
    "status": lambda r: r["status"], "responsible": lambda r: r["responsible_name"],
    "deadline": lambda r: r["deadline_date"], "counterparty": lambda r: r["counterparty_name"],
    "created": lambda r: r["created_at"], "amount": lambda r: r["amount"],
}


def _expected(rows: list[dict], key: str, descending: bool) -> list[int]:
    """NULLS LAST either way, then the id (no deadline times here)."""
    def compare(a, b):
        va, vb = VALUE[key](a), VALUE[key](b)
        if va is None or vb is None:
            first = (va is None) - (vb is None)
        else:
            first = (va > vb) - (va < vb)
            first = -first if descending else first
        return first or (a["id"] > b["id"]) - (a["id"] < b["id"])
    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


def test_every_column_of_the_list_has_a_sort():
    assert set(VALUE) == set(tq.SORTS)


@pytest.mark.parametrize("descending", [False, True])
async def test_every_column_sorts_both_ways(web, four_tasks, descending):
    login(web, "anna")
    page = web.get("/tasks?responsible=all&status=all").text
    heads = page.split('id="tasks"')[1].split("</thead>")[0]
    assert sorted(re.findall(r"sort=(\w+)", heads)) == sorted(tq.SORTS)  # every column header sorts
    for key in tq.SORTS:
        direction = "desc" if descending else "asc"
        shown = _shown(web.get(f"/tasks?responsible=all&status=all&sort={key}&dir={direction}").text)
        assert shown == _expected(four_tasks["rows"], key, descending), key
        assert len(set(VALUE[key](r) for r in four_tasks["rows"])) > 1, key  # the order means something


async def test_a_sort_not_in_the_whitelist_is_the_deadline(web, four_tasks):
    login(web, "anna")
    by_deadline = _shown(web.get("/tasks?responsible=all&status=all&sort=deadline").text)
    for bogus in ("t.id", "id; DROP TABLE tasks", "remark", "1"):
        r = web.get("/tasks", params={"responsible": "all", "status": "all", "sort": bogus})
        assert r.status_code == 200 and _shown(r.text) == by_deadline, bogus


async def test_the_section_opens_on_my_open_tasks_by_deadline(web, db, four_tasks):
    login(web, "maria")
    page = web.get("/tasks").text
    delta, alpha = four_tasks["ids"][0], four_tasks["ids"][1]
    assert _shown(page) == [alpha, delta]  # hers, open, soonest deadline first; not Boris's, not Anna's
    assert re.search(r'<option value="me" selected>', page) and re.search(r'<option value="open" selected>', page)
    # Done today: no longer in the default view.
    async with db.acquire() as conn:
        await conn.execute("UPDATE tasks SET status = 'done', closed_at = now() WHERE id = $1", alpha)
    assert _shown(web.get("/tasks").text) == [delta]
    login(web, "boris")
    assert _shown(web.get("/tasks").text) == []  # his one task is cancelled


async def test_filter_by_task_type(web, db, four_tasks):
    login(web, "anna")
    types, ids = four_tasks["types"], four_tasks["ids"]
    assert _shown(web.get(f"/tasks?responsible=all&status=all&type={types['deal']}&sort=number").text) == ids[2:]
    page = web.get(f"/tasks?responsible=all&status=all&type={types['meeting']}").text
    assert _shown(page) == [ids[1]]
    assert f'<option value="{types["meeting"]}" selected>' in page
    # An archived type is still offered, to find its old tasks.
    async with db.acquire() as conn:
        await conn.execute("UPDATE task_types SET archived = true WHERE id = $1", types["meeting"])
    assert _shown(web.get(f"/tasks?responsible=all&status=all&type={types['meeting']}").text) == [ids[1]]
    assert _shown(web.get("/tasks?responsible=all&status=all&type=999999").text) == []
    assert web.get("/tasks?type=abc").status_code == 400


async def test_the_remark_is_shown_and_searched(web, four_tasks):
    login(web, "anna")
    ids = four_tasks["ids"]
    page = web.get("/tasks?responsible=all&status=all&sort=number").text
    row = page.split(f'<tr data-id="{ids[0]}"')[1].split("</tr>")[0]
    assert '<small class="task-remark">bring the contract</small>' in row
    assert _shown(web.get("/tasks?responsible=all&status=all&q=warehouse").text) == [ids[3]]
    assert _shown(web.get("/tasks?responsible=all&status=all&q=contract bring").text) == [ids[0]]
    assert _shown(web.get("/tasks?responsible=all&status=all&q=Delta").text) == [ids[0]]  # titles still
