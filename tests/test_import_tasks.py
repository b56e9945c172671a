"""Issue 20 (A8, K2): tasks and deals imported from Excel through /import, checked row by row,
made as by hand (audit, notifications), with the importer's rights."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import ValidationError
from crm.imports.tasks import status_and_outcome, words_of
from crm.tags import TagInput, save_tag
from crm.tasks.model import parse_amount
from tests.helpers import login, make_user, upload, workbook


async def _people_and_cards(db):
    boss = await make_user(db, "boss", "supervisor", full_name="Boris Bossov")
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    petrova = await make_user(db, "petrova", "operator", full_name="Olga Petrova")
    async with db.acquire() as conn:
        sokolov = await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Sokolov", contacts=(
            ContactInput("phone", "+7 495 123-45-67"), ContactInput("email", "s@sokolov.ru"))), "RU")
        vostok = await service.create(conn, boss, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
        for _ in range(2):  # two cards of the same name: a link by name is ambiguous
            await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Petrov"), "RU")
        await save_tag(conn, boss["id"], None, TagInput("Горячий"))
    return boss, ivanova, petrova, sokolov, vostok


async def _tasks(db):
    async with db.acquire() as conn:
        return await conn.fetch("""SELECT t.*, tt.name AS type, tt.is_deal FROM tasks t
                                   JOIN task_types tt ON tt.id = t.type_id ORDER BY t.id""")


async def test_tasks_with_russian_headers_are_made_and_bad_rows_reported_by_number(web, db):
    boss, ivanova, petrova, sokolov, vostok = await _people_and_cards(db)
    login(web, "boss")
    header = ["Название", "Тип", "Описание", "Ответственный", "Участники", "Контрагент", "Срок", "Время",
              "Статус", "Теги"]
    job = upload(web, workbook(header, [
        ["Встреча с клиентом", "meeting", "обсудить тариф", "Irina Ivanova", "petrova; boss", "8 (495) 123-45-67",
         dt.datetime(2026, 12, 3, 14, 30), None, "в работе", "горячий"],
        ["Подготовить договор", "Task", "", "ivanova", "", "S@Sokolov.ru", "05.12.2026", "10:15", "", ""],
        ["Кому?", "", "", "nobody", "", "", "", "", "", ""],
        ["Экскурсия", "Excursion", "", "", "", "", "", "", "", ""],
        ["Петрову", "", "", "", "", "Petrov", "", "", "", ""],
        ["Когда?", "", "", "", "", "", "31.02.2026", "", "", ""],
        ["Сделка", "Deal", "", "", "", "", "", "", "", ""],
        ["Закрыть год", "", "", "", "", "Vostok", dt.date(2026, 12, 31), None, "выполнена", ""],
    ]), kind="tasks", name="задачи.xlsx")
    assert job["status"] == "done" and job["applied"] == 3, job
    rejected = {r["row"]: r["reason"] for r in job["rejected"]}
    assert rejected == {
        4: "no active user with login or name 'nobody'",
        5: "no task type called 'Excursion'",
        6: "several counterparties are called 'Petrov'; write a phone number or an e-mail instead",
        7: "'31.02.2026' is not a date (YYYY-MM-DD HH:MM or DD.MM.YYYY HH:MM)",
        8: "'Deal' is a deal type; import it as deals",
    }
    meeting, contract, year = await _tasks(db)
    assert (meeting["title"], meeting["type"], meeting["remark"], meeting["status"]) == \
        ("Встреча с клиентом", "Meeting", "обсудить тариф", "in_progress")
    assert meeting["responsible_user_id"] == ivanova["id"] and meeting["counterparty_id"] == sokolov
    assert (meeting["deadline_date"], meeting["deadline_time"]) == (dt.date(2026, 12, 3), dt.time(14, 30))
    assert meeting["author_user_id"] == boss["id"]
    assert (contract["type"], contract["counterparty_id"], contract["status"]) == ("Task", sokolov, "new")
    assert (contract["deadline_date"], contract["deadline_time"]) == (dt.date(2026, 12, 5), dt.time(10, 15))
    assert (year["type"], year["counterparty_id"], year["status"], year["responsible_user_id"]) == \
        ("Task", vostok, "done", boss["id"])
    assert (year["deadline_date"], year["deadline_time"]) == (dt.date(2026, 12, 31), None)
    assert year["closed_at"] is not None
    async with db.acquire() as conn:
        participants = {r["user_id"] for r in await conn.fetch(
            "SELECT user_id FROM task_participants WHERE task_id = $1", meeting["id"])}
        tagged = await conn.fetch("SELECT x.task_id, t.name FROM task_tags x JOIN tags t ON t.id = x.tag_id")
        audit = await conn.fetch("SELECT entity, entity_id, action, user_id FROM audit_log "
                                 "WHERE entity IN ('task', 'import') ORDER BY id")
        told = await conn.fetch("SELECT user_id, url FROM notifications WHERE kind = 'task_assigned' ORDER BY id")
    assert participants == {petrova["id"], boss["id"]}
    assert [(r["task_id"], r["name"]) for r in tagged] == [(meeting["id"], "Горячий")]
    # The job's start, each task's creation (as by hand), the tag put on the meeting: all in the boss's name.
    assert [(r["entity"], r["entity_id"], r["action"]) for r in audit] == [
        ("import", job["id"], "start"), ("task", meeting["id"], "create"), ("task", meeting["id"], "tag"),
        ("task", contract["id"], "create"), ("task", year["id"], "create")]
    assert {r["user_id"] for r in audit} == {boss["id"]}
    # Ivanova is told of the two tasks given to her; the boss gave himself the third.
    assert [(r["user_id"], r["url"]) for r in told] == [
        (ivanova["id"], f"/tasks/{meeting['id']}"), (ivanova["id"], f"/tasks/{contract['id']}")]

    page = web.get(f"/import/{job['id']}").text
    assert "3 imported, 5 rejected" in page and "no task type called" in page and "<td data-label=\"Row\">6</td>" in page
    listed = web.get("/tasks", params={"responsible": "all", "status": ""}).text
    assert "Встреча с клиентом" in listed and "Подготовить договор" in listed and "Закрыть год" in listed


async def test_deals_with_amounts_are_made_and_summed_in_the_tasks_list(web, db):
    boss, ivanova, _petrova, sokolov, vostok = await _people_and_cards(db)
    login(web, "boss")
    job = upload(web, workbook(["Deal", "Amount", "Outcome", "Responsible", "Counterparty", "Deadline", "Status"], [
        ["Поставка", "1\u00a0250\u00a0000,50", "", "ivanova", "Vostok", "10.12.2026", ""],
        ["Service", 99999.99, "won", "boss", "+7 495 123-45-67", "", ""],
        ["Lost one", "1,500.25", "", "", "", "", "проиграна"],
        ["Too much?", "a lot", "", "", "", "", ""],
        ["Negative", "-5", "", "", "", "", ""],
        ["Maybe", "10", "perhaps", "", "", "", ""],
    ]), kind="deals", name="deals.xlsx")
    assert job["applied"] == 3, job
    assert {r["row"]: r["reason"] for r in job["rejected"]} == {
        5: "'a lot' is not an amount", 6: "an amount is 0 or more", 7: "a deal is won or lost, not 'perhaps'"}
    supply, service_deal, lost = await _tasks(db)
    assert all(t["is_deal"] and t["type"] == "Deal" for t in (supply, service_deal, lost))
    assert (supply["amount"], supply["status"], supply["outcome"], supply["counterparty_id"]) == \
        (Decimal("1250000.50"), "new", None, vostok)
    assert supply["responsible_user_id"] == ivanova["id"]
    assert (service_deal["amount"], service_deal["status"], service_deal["outcome"]) == \
        (Decimal("99999.99"), "done", "won")
    assert service_deal["counterparty_id"] == sokolov
    assert (lost["amount"], lost["status"], lost["outcome"]) == (Decimal("1500.25"), "done", "lost")

    listed = web.get("/tasks", params={"responsible": "all", "status": "", "deals": "1"}).text
    assert "Поставка" in listed and "Service" in listed and "Lost one" in listed
    assert "1,351,500.74" in listed.split('id="deals-sum"')[1]

    # A deal type in a tasks file, a task type in a deals file: each told where it belongs.
    wrong = upload(web, workbook(["Title", "Type"], [["Call", "Meeting"]]), kind="deals")
    assert wrong["rejected"] == [{"row": 2, "reason": "'Meeting' is not a deal type; import it as tasks"}]


async def test_all_or_nothing_leaves_nothing_when_one_row_is_bad(web, db):
    await _people_and_cards(db)
    login(web, "boss")
    job = upload(web, workbook(["Название", "Сумма"], [["Хорошая", "100"], ["Плохая", "сто"]]),
                 kind="deals", mode="all_or_nothing")
    assert job["applied"] == 0 and job["message"].startswith("nothing imported: 1 row")
    assert job["rejected"] == [{"row": 3, "reason": "'сто' is not an amount"}]
    assert await _tasks(db) == []
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'task'") == 0


async def test_a_manager_imports_tasks_for_herself_only_and_an_operator_not_at_all(web, db):
    _boss, ivanova, _petrova, _sokolov, _vostok = await _people_and_cards(db)
    login(web, "ivanova")
    job = upload(web, workbook(["Title", "Responsible", "Participants"], [
        ["Mine", "", "petrova"], ["Also mine", "Irina Ivanova", ""], ["Hers", "petrova", ""]]), kind="tasks")
    assert job["applied"] == 2
    assert job["rejected"] == [{"row": 4, "reason": "you may not give a task to 'petrova': "
                                                    "only supervisors and admins import tasks for other users"}]
    assert {t["responsible_user_id"] for t in await _tasks(db)} == {ivanova["id"]}

    web.cookies.clear()
    login(web, "petrova")
    r = web.post("/import", files={"file": ("t.xlsx", workbook(["Title"], [["x"]]), "application/octet-stream")},
                 data={"csrf_token": web.cookies["pbxcrm_csrf"], "kind": "tasks", "mode": "valid"},
                 follow_redirects=False)
    assert r.status_code == 403
    assert len(await _tasks(db)) == 2


async def test_a_file_without_a_title_column_is_rejected_as_a_whole(web, db):
    await _people_and_cards(db)
    login(web, "boss")
    job = upload(web, workbook(["Ответственный"], [["ivanova"]]), kind="tasks")
    assert job["applied"] == 0 and job["rejected"] == [{"row": 1, "reason": "no title column: expected Title (Название)"}]


def test_amounts_as_people_write_them():
    assert parse_amount("1\u00a0250\u00a0000,50") == Decimal("1250000.50")
    assert parse_amount("1,250,000.50") == Decimal("1250000.50")
    assert parse_amount("1.250.000,50") == Decimal("1250000.50")
    assert parse_amount(" 42 ") == Decimal("42.00") and parse_amount("") is None
    for bad in ("NaN", "Infinity", "1.2.3", "12 руб"):
        with pytest.raises(ValidationError):
            parse_amount(bad)


def test_statuses_and_outcomes_in_either_language():
    statuses, outcomes = words_of("task_status"), words_of("deal_outcome")
    assert statuses["в работе"] == statuses["in progress"] == statuses["in_progress"] == "in_progress"
    assert status_and_outcome(statuses, outcomes, "", "", deals=True) == ("new", None)
    assert status_and_outcome(statuses, outcomes, "", "выиграна", deals=True) == ("done", "won")
    assert status_and_outcome(statuses, outcomes, "won", "", deals=True) == ("done", "won")
    assert status_and_outcome(statuses, outcomes, "отменена", "lost", deals=True) == ("cancelled", "lost")
    with pytest.raises(Exception, match="no task status called 'won'"):
        status_and_outcome(statuses, outcomes, "won", "", deals=False)


async def test_a_russian_reader_gets_the_reasons_in_russian(web, db):
    await _people_and_cards(db)
    login(web, "boss")
    russian = {"Accept-Language": "ru-RU,ru;q=0.9"}
    job = upload(web, workbook(["Название", "Тип", "Ответственный"], [["Экскурсия", "Экскурсия", ""],
                                                                        ["Кому?", "", "Olga Petrova"]]),
                 kind="tasks", headers=russian)
    assert job["rejected"] == [{"row": 2, "reason": "нет типа задачи 'Экскурсия'"}]
    assert job["message"].startswith("1 строка загружена")
    page = web.get(f"/import/{job['id']}", headers=russian).text
    assert "нет типа задачи" in page and "Отклонённые строки" in page
    listed = web.get("/import", headers=russian).text
    assert "задачи: Название, Тип, Описание" in listed and "сделки: Название" in listed


def test_people_by_login_or_full_name_and_two_of_a_name_refused():
    from crm.errors import DomainError
    from crm.imports.common import People

    people = People([{"id": 1, "login": "ivanova", "full_name": "Irina Ivanova"},
                     {"id": 2, "login": "ivanova2", "full_name": "Irina  Ivanova"},
                     {"id": 3, "login": "petrova", "full_name": "Olga Petrova"}])
    assert people.find("IVANOVA") == 1 and people.find(" olga   petrova ") == 3
    with pytest.raises(DomainError, match="2 users are called 'Irina Ivanova'; write the login instead"):
        people.find("Irina Ivanova")
    with pytest.raises(DomainError, match="no active user with login or name 'Nobody'"):
        people.find("Nobody")
