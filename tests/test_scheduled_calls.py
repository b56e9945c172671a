"""Scheduled calls through HTTP (issue 22, H8): planned from a card (its phones offered), a task and the list
(a free number); the time read on the user's clock; bad input shown again with its messages; who sees and
cancels which (one's own; supervisors everyone's; customers nothing); planning and cancelling audited."""

import datetime as dt
import re
import zoneinfo

import pytest

from crm.counterparties import service as cp_service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import log_in_as, make_user

TOMORROW = (dt.datetime.now(zoneinfo.ZoneInfo("Europe/Moscow")) + dt.timedelta(days=1)).date()


@pytest.fixture
async def world(db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    oleg = await make_user(db, "oleg", "operator", full_name="Oleg Olegov")
    await make_user(db, "boss", "supervisor", full_name="Boss")
    acme = await make_user(db, "acme", "operator", full_name="Acme User")
    async with db.acquire() as conn:  # an outsourcing customer's user (0045)
        customer_id = await conn.fetchval("INSERT INTO customers (name) VALUES ('Acme') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", acme["id"], customer_id)
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET timezone = 'Asia/Yekaterinburg' WHERE id = $1", ivanova["id"])
        client = await cp_service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"), ContactInput("phone", "8 916 555-44-33"))), "RU")
        task_type = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        task = await task_service.create(conn, ivanova, TaskInput(
            title="Call about the contract", type_id=task_type, responsible_user_id=ivanova["id"],
            counterparty_id=client))
    return {"ivanova": ivanova, "oleg": oleg, "client": client, "task": task}


def _plan(web, **fields):
    data = {"csrf_token": web.cookies["pbxcrm_csrf"], "number": "8 (495) 123-45-67",
            "due_date": TOMORROW.isoformat(), "due_time": "10:30", "action": "remind", "note": "", **fields}
    return web.post("/scheduled-calls", data=data, follow_redirects=False)


def _id(response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def _row(db, call_id):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM scheduled_calls WHERE id = $1", call_id)


async def test_from_the_card_the_task_and_the_list(web, world, db):
    log_in_as(web, "ivanova")
    card = web.get(f"/counterparties/{world['client']}").text
    form = card[card.index('id="schedule-call-form"'):]
    form = form[:form.index("</form>")]
    assert 'value="+7 495 123-45-67"' in form and 'value="8 916 555-44-33"' in form  # the card's phones offered
    assert f'name="counterparty_id" value="{world["client"]}"' in form

    from_card = _id(_plan(web, number="8 916 555-44-33", counterparty_id=str(world["client"]), action="dial",
                          note="about the <b>invoice</b>"))
    row = await _row(db, from_card)
    assert row["number"] == "+79165554433" and row["counterparty_id"] == world["client"]
    assert row["action"] == "dial" and row["status"] == "pending" and row["user_id"] == world["ivanova"]["id"]
    # 10:30 on her clock (Yekaterinburg, UTC+5).
    assert row["due_at"] == dt.datetime.combine(TOMORROW, dt.time(5, 30), dt.timezone.utc)
    page = web.get(f"/scheduled-calls/{from_card}").text
    assert "Sokolov Ivan" in page and "about the &lt;b&gt;invoice&lt;/b&gt;" in page and "planned" in page

    task_page = web.get(f"/tasks/{world['task']}").text
    assert 'id="schedule-call-form"' in task_page and f'name="task_id" value="{world["task"]}"' in task_page
    from_task = _id(_plan(web, task_id=str(world["task"])))
    row = await _row(db, from_task)
    assert row["task_id"] == world["task"] and row["counterparty_id"] == world["client"]  # the task's client
    assert "Call about the contract" in web.get(f"/scheduled-calls/{from_task}").text

    listed = web.get("/scheduled-calls").text
    assert 'id="schedule-call-form"' in listed and 'name="counterparty_id"' not in listed
    free = _id(_plan(web, number="+44 20 7946 0958"))
    assert (await _row(db, free))["number"] == "+442079460958"
    listed = web.get("/scheduled-calls").text
    assert all(f'data-id="{i}"' in listed for i in (from_card, from_task, free))

    async with db.acquire() as conn:
        audited = await conn.fetch("SELECT entity_id, action, user_id FROM audit_log WHERE entity = 'scheduled_call'")
    assert {(r["entity_id"], r["action"]) for r in audited} == {(from_card, "create"), (from_task, "create"),
                                                                (free, "create")}


async def test_bad_input_is_shown_again_with_its_message(web, world, db):
    log_in_as(web, "oleg")
    bad = _plan(web, number="call me maybe", note="keep this note")
    assert bad.status_code == 400
    assert re.search(r'id="schedule-error-number">[^<]*call me maybe is not a phone number', bad.text)
    assert 'value="keep this note"' in bad.text and 'value="call me maybe"' in bad.text  # nothing lost
    past = _plan(web, due_date=(TOMORROW - dt.timedelta(days=3)).isoformat())
    assert past.status_code == 400 and "that time has passed" in past.text
    no_time = _plan(web, due_time="")
    assert no_time.status_code == 400 and "choose a time" in no_time.text
    wrong_date = _plan(web, due_date="31.12.2030")
    assert wrong_date.status_code == 400 and "must be a date" in wrong_date.text
    # Oleg has no extension: the PBX cannot ring him first.
    dial = _plan(web, action="dial")
    assert dial.status_code == 400 and "no extension" in dial.text
    assert _plan(web, action="explode").status_code == 400
    assert _plan(web, note="x" * 2001).status_code == 400
    # A task or a card that is not there (or not to be seen) is not a place to plan from.
    assert _plan(web, task_id="999999").status_code == 404
    assert _plan(web, counterparty_id="999999").status_code == 404
    # No CSRF token: refused.
    assert web.post("/scheduled-calls", data={"number": "84951234567"}, follow_redirects=False).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM scheduled_calls") == 0


async def test_rights_and_cancel(web, world, db):
    log_in_as(web, "ivanova")
    hers = _id(_plan(web))
    done = _id(_plan(web, number="84957654321"))
    async with db.acquire() as conn:
        await conn.execute("UPDATE scheduled_calls SET status = 'reminded' WHERE id = $1", done)
    log_in_as(web, "oleg")
    his = _id(_plan(web, number="84951112233"))
    listed = web.get("/scheduled-calls").text
    assert f'data-id="{his}"' in listed and f'data-id="{hers}"' not in listed
    assert web.get(f"/scheduled-calls/{hers}").status_code == 404
    csrf = {"csrf_token": web.cookies["pbxcrm_csrf"]}
    assert web.post(f"/scheduled-calls/{hers}/cancel", data=csrf, follow_redirects=False).status_code == 404
    assert (await _row(db, hers))["status"] == "pending"

    log_in_as(web, "boss")  # a supervisor sees and cancels everyone's
    listed = web.get("/scheduled-calls").text
    assert all(f'data-id="{i}"' in listed for i in (hers, his, done))
    csrf = {"csrf_token": web.cookies["pbxcrm_csrf"]}
    assert web.post(f"/scheduled-calls/{hers}/cancel", data=csrf, follow_redirects=False).status_code == 303
    assert (await _row(db, hers))["status"] == "cancelled"
    assert web.post(f"/scheduled-calls/{done}/cancel", data=csrf).status_code == 409  # already run
    assert web.post(f"/scheduled-calls/{hers}/cancel", data=csrf).status_code == 409

    log_in_as(web, "oleg")  # his own
    assert 'id="cancel-scheduled-call"' in web.get(f"/scheduled-calls/{his}").text
    csrf = {"csrf_token": web.cookies["pbxcrm_csrf"]}
    assert web.post(f"/scheduled-calls/{his}/cancel", data=csrf, follow_redirects=False).status_code == 303
    assert "cancelled" in web.get(f"/scheduled-calls/{his}").text

    # A dialled call that failed shows why, in the reader's language.
    async with db.acquire() as conn:
        await conn.execute("UPDATE scheduled_calls SET status = 'failed', error = 'the user did not answer' "
                           "WHERE id = $1", his)
        await conn.execute("UPDATE users SET language = 'ru' WHERE login = 'oleg'")
    log_in_as(web, "oleg")
    page = web.get(f"/scheduled-calls/{his}").text
    assert "пользователь не ответил" in page and "не удался" in page

    log_in_as(web, "acme")  # a customer: outside its routes the site does not exist (web/customer_access.py)
    assert web.get("/scheduled-calls").status_code == 404
    assert web.get(f"/scheduled-calls/{his}").status_code == 404
    assert _plan(web).status_code == 404
    assert web.post(f"/scheduled-calls/{done}/cancel", data={"csrf_token": web.cookies["pbxcrm_csrf"]}).status_code == 404

    async with db.acquire() as conn:
        cancels = await conn.fetch("SELECT entity_id, user_id FROM audit_log WHERE entity = 'scheduled_call' "
                                   "AND action = 'cancel' ORDER BY id")
    assert [(r["entity_id"], r["user_id"]) for r in cancels] == [
        (hers, await _user_id(db, "boss")), (his, world["oleg"]["id"])]


async def _user_id(db, login_name):
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT id FROM users WHERE login = $1", login_name)
