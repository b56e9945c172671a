"""Search as users type it (issue 12): Russian-style phones, ё and е, words in any order, in every list."""

import secrets
import shutil
import urllib.parse

import asyncpg

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.migrate import MIGRATIONS_DIR, load_migrations, migrate
from crm.search import search_terms
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import login, make_user


def _client(last, first="", **kw):
    return CounterpartyInput(kind="client", last_name=last, first_name=first, **kw)


async def _base(db):
    """Petrov Pyotr (written with ё) on +7 909 632-02-28, Kovalsky Dmitry, Semenov Petr (written with е)."""
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        ids = {
            "petrov": await service.create(conn, mgr, _client("Петров", "Пётр", contacts=(
                ContactInput("phone", "+7 (909) 632-02-28"),)), "RU"),
            "kovalsky": await service.create(conn, mgr, _client("Kovalsky", "Dmitry"), "RU"),
            "semenov": await service.create(conn, mgr, _client("Семенов", "Петр"), "RU"),
            "fir": await service.create(conn, mgr, CounterpartyInput(kind="company", company_name="ООО Ёлка"), "RU"),
        }
    return mgr, ids


def _found(web, q, section="clients"):
    r = web.get(f"/api/{section}", params={"q": q})
    assert r.status_code == 200, r.text
    return sorted(item["display_name"] for item in r.json()["items"])


async def test_a_phone_written_the_russian_way_finds_the_client(web, db):
    await _base(db)
    login(web, "mgr")
    for q in ["+7 (909) 632-02-28", "8 (909) 632-02-28", "89096320228", "8-909-632-02-28", "79096320228",
              "+79096320228"]:
        assert _found(web, q) == ["Петров Пётр"], q
    # Parts of the number still find it: its end, and its start written with 8.
    for q in ["632-02-28", "0228", "632-02", "8 (909) 632", "8 909"]:
        assert _found(web, q) == ["Петров Пётр"], q
    assert _found(web, "8 (909) 632-02-29") == []
    # The page, not only the API.
    page = web.get("/clients", params={"q": "8 (909) 632-02-28"}).text.split("<tbody>")[1]
    assert "Петров Пётр" in page and "Kovalsky" not in page


async def test_yo_and_ye_are_one_letter_both_ways(web, db):
    await _base(db)
    login(web, "mgr")
    assert _found(web, "Петров Петр") == ["Петров Пётр"]
    assert _found(web, "Пётр") == ["Петров Пётр", "Семенов Петр"]
    assert _found(web, "петр") == ["Петров Пётр", "Семенов Петр"]
    assert _found(web, "ПЁТР семенов") == ["Семенов Петр"]
    assert _found(web, "елка", "companies") == ["ООО Ёлка"]
    assert _found(web, "ЁЛКА", "companies") == ["ООО Ёлка"]


async def test_words_match_in_any_order_and_each_must_match(web, db):
    await _base(db)
    login(web, "mgr")
    assert _found(web, "Dmitry Kovalsky") == ["Kovalsky Dmitry"]
    assert _found(web, "Kovalsky Dmitry") == ["Kovalsky Dmitry"]
    assert _found(web, "  dmitry   KOVAL ") == ["Kovalsky Dmitry"]
    assert _found(web, "Dmitry Petrov") == []  # every word must match
    assert _found(web, "Пётр 632-02-28") == ["Петров Пётр"]  # a name and a number
    assert _found(web, "Петров 8 (909) 632-02-28") == ["Петров Пётр"]
    assert _found(web, "Семенов 8 (909) 632-02-28") == []


async def test_a_long_search_is_fine(web, db):
    await _base(db)
    login(web, "mgr")
    r = web.get("/clients", params={"q": "Kovalsky Dmitry " * 6})
    assert r.status_code == 200 and "Kovalsky Dmitry" in r.text.split("<tbody>")[1]
    many = " ".join(f"w{i}" for i in range(33))  # 33 words, 100 characters
    r = web.get("/clients", params={"q": many})
    assert r.status_code == 200 and "Kovalsky Dmitry" not in r.text.split("<tbody>")[1]
    assert _found(web, "я" * 100) == []
    assert _found(web, "% _ \\ 100%") == []  # LIKE wildcards are literal in every word


async def test_tasks_search_the_same_way(web, db):
    mgr, ids = await _base(db)
    async with db.acquire() as conn:
        type_id = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        call = await task_service.create(conn, mgr, TaskInput(title="Позвонить по счёту", type_id=type_id,
                                                              responsible_user_id=mgr["id"],
                                                              counterparty_id=ids["petrov"]))
        other = await task_service.create(conn, mgr, TaskInput(title="Счет для Kovalsky", type_id=type_id,
                                                               responsible_user_id=mgr["id"]))
    login(web, "mgr")

    def found(q):
        r = web.get("/tasks", params={"q": q})
        assert r.status_code == 200
        rows = r.text.split("<tbody>")[1]
        return [n for n in (call, other) if f'data-id="{n}"' in rows]

    assert found("счет") == [call, other]
    assert found("СЧЁТУ позвонить") == [call]
    assert found("петр счет") == [call]  # a word of the title and a word of the client's name
    assert found("kovalsky счёт") == [other]
    assert found(f"#{other}") == [other]
    assert found("#99999999999999999999999") == []  # not a task number: no 500


def test_search_terms_read_runs_of_digits_as_one_number():
    assert search_terms("8 (909) 632-02-28") == [("8 (909) 632-02-28", "89096320228", "79096320228")]
    assert search_terms("Пётр  ПЕТРОВ") == [("петр",), ("петров",)]
    assert search_terms("Petrov 8 909 632") == [("petrov",), ("8 909 632", "8909632", "7909632")]
    assert search_terms("8123") == [("8123",)]  # the end of a number: not read as 7123...
    assert search_terms("0074951234567") == [("74951234567",)]  # 00 is "+"
    assert search_terms("Petrov I") == [("petrov",)]  # one letter narrows nothing
    assert search_terms("a b") == [("a b",)]  # only short words: as typed
    assert search_terms(" ") == []


async def test_the_search_indexes_serve_folded_searches(db):
    """The conditions a search writes are the indexed expressions (a full scan on 1M clients is too slow)."""
    from crm.counterparties.listing import ListQuery, build_where

    async with db.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            where = build_where(ListQuery(kind="client", q="Kovalsky Пётр"))
            plan = "\n".join(r[0] for r in await conn.fetch(
                f"EXPLAIN SELECT 1 FROM counterparties c WHERE $1::text IS NOT NULL AND {where.search}", *where.args))
            assert "counterparties_search_trgm" in plan, plan
            plan = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN SELECT id FROM tasks t WHERE search_fold(t.title) LIKE '%счет%'"))
            assert "tasks_title_trgm" in plan, plan


def _database(server_url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path="/" + name))


async def test_migration_0016_refolds_the_search_text_of_existing_rows(server_url, tmp_path):
    before = [m for m in load_migrations() if m.version < 16]
    for m in before:
        shutil.copy(MIGRATIONS_DIR / m.name, tmp_path / m.name)
    name = f"pbxcrm_mig16_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(_database(server_url, name))
        try:
            await migrate(conn, tmp_path)
            company = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', 'Ёлка') "
                                          "RETURNING id")
            yo = await conn.fetchval("INSERT INTO counterparties (kind, last_name, first_name, comment) "
                                     "VALUES ('client', 'Петров', 'Пётр', 'ещё звонить') RETURNING id")
            await conn.execute("INSERT INTO company_members (company_id, client_id) VALUES ($1, $2)", company, yo)
            await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                               "VALUES ($1, 'phone', '8 909 632-02-28', '+79096320228')", yo)
            plain = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Lis') "
                                        "RETURNING id")
            old = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM counterparties")}
            assert "пётр" in old[yo]["search_text"] and "ёлка" in old[yo]["search_text"]

            assert await migrate(conn) == [m.name for m in load_migrations() if m.version >= 16]
            new = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM counterparties")}
            assert new[yo]["search_text"].split() == ["петров", "петр", "еще", "звонить", "елка", "+79096320228"]
            assert new[company]["search_text"].split() == ["елка"]
            # Nothing else of any row changed, and the untouched row kept its text (columns later
            # migrations add are not compared: they did not exist before).
            for cid, row in old.items():
                assert {k: new[cid][k] for k in row if k != "search_text"} == \
                       {k: v for k, v in row.items() if k != "search_text"}
            assert new[plain]["search_text"] == old[plain]["search_text"]
            assert await conn.fetchval(
                "SELECT count(*) FROM counterparties c WHERE search_text <> counterparty_search_text(c)") == 0
            # New writes are folded by the trigger.
            await conn.execute("UPDATE counterparties SET first_name = 'Семён' WHERE id = $1", plain)
            assert (await conn.fetchval("SELECT search_text FROM counterparties WHERE id = $1", plain)).split() == \
                   ["lis", "семен"]
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
