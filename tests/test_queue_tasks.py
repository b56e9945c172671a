"""Queue tasks through HTTP (issue 15): a stranger's callback task is held by a queue; its members
see it, are told, and one of them takes it; nobody else sees it in lists, counts, exports or by its
address; supervisors and admins see everything. And the unknown callers list, by the same rights.
"""

import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook

from crm.calls import queries as calls_q
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.queues.model import QueueInput
from crm.queues.queries import save_queue
from crm.tasks import callbacks
from tests.helpers import csrf_from, login, make_user

NUMBER = "+7 903 555-66-77"
KEY = "+79035556677"


@pytest.fixture
async def centre(db):
    """Queue Support (operators Olga and Oleg), queue Sales (Sasha); Petya, manager Boris in no queue;
    supervisor Sveta; and a missed call from NUMBER through Support, with its queue task."""
    people = {}
    for name, role in (("olga", "operator"), ("oleg", "operator"), ("sasha", "operator"), ("petya", "operator"),
                       ("boris", "manager"), ("sveta", "supervisor")):
        people[name] = await make_user(db, name, role, full_name=name.title())
    async with db.acquire() as conn:
        people["support"] = await save_queue(conn, people["sveta"]["id"], None, QueueInput(
            "Support", member_ids=(people["olga"]["id"], people["oleg"]["id"])))
        people["sales"] = await save_queue(conn, people["sveta"]["id"], None, QueueInput(
            "Sales", member_ids=(people["sasha"]["id"],)))
        people["call"] = await _missed_call(conn, "s.1", NUMBER, KEY, people["support"])
        people["task"] = await callbacks.create_for_stranger(conn, number=NUMBER, reason="missed",
                                                             call_id=people["call"])
    return people


async def _missed_call(conn, channel: str, number: str, key: str, queue: int | None,
                       started: dt.datetime | None = None) -> int:
    started = started or dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    call_id = await calls_q.insert_call(
        conn, channel_id=channel, direction="incoming", caller_number=number, caller_normalized=key, caller_name="",
        called_number="74957654321", called_normalized="+74957654321", line="trunk", started_at=started,
        linked_id=channel)
    if queue is not None:
        await calls_q.mark_queued(conn, channel, queue)
    await calls_q.mark_ended(conn, channel, started + dt.timedelta(seconds=30), 16)
    return call_id


def _as(web, name):
    web.cookies.clear()
    login(web, name)


def _listed(web, params=None) -> tuple[list[int], str]:
    page = web.get("/tasks", params=params or {}).text
    body = page.split("<tbody>")[1]
    return [int(i) for i in re.findall(r'data-id="(\d+)"', body)], page


async def test_the_queue_holds_the_task_and_only_its_members_and_overseers_see_it(web, db, centre):
    task = centre["task"]
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", task)
        told = await conn.fetch("SELECT user_id, kind, url FROM notifications ORDER BY user_id")
    assert row["queue_id"] == centre["support"] and row["responsible_user_id"] is None
    assert row["callback_number"] == NUMBER and row["callback_normalized"] == KEY and row["call_id"] == centre["call"]
    assert [(r["user_id"], r["kind"], r["url"]) for r in told] == [
        (centre["olga"]["id"], "queue_task", f"/tasks/{task}"), (centre["oleg"]["id"], "queue_task", f"/tasks/{task}")]

    _as(web, "olga")
    ids, page = _listed(web)  # "my tasks": mine, and my queues' that nobody took
    assert ids == [task] and "queue Support" in page and "1 task" in page
    assert _listed(web, {"responsible": "queue"})[0] == [task]
    card = web.get(f"/tasks/{task}").text
    assert f'data-call="{NUMBER}"' in card and 'id="take-task"' in card and "nobody has taken it yet" in card
    assert f"Missed call from {NUMBER} at " in card and " MSK" in card.split("callback-events")[1][:300]
    assert "phones=%2B7%20903%20555-66-77" in card  # make a card of the number

    for outsider in ("petya", "sasha", "boris"):
        _as(web, outsider)
        assert _listed(web, {"responsible": "all", "status": "all"})[0] == [], outsider
        assert "0 tasks" in _listed(web, {"responsible": "all"})[1]
        assert _listed(web, {"q": str(task), "responsible": "all"})[0] == []
        assert web.get(f"/tasks/{task}").status_code == 404
        assert web.post(f"/tasks/{task}/take", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                        follow_redirects=False).status_code == 404

    _as(web, "sveta")
    assert _listed(web, {"responsible": "all"})[0] == [task]
    sheet = load_workbook(io.BytesIO(web.get("/tasks.xlsx", params={"responsible": "all"}).content)).active
    header = [c.value for c in sheet[1]]
    assert [dict(zip(header, r))["Responsible"] for r in sheet.iter_rows(min_row=2, values_only=True)] == \
        ["queue Support"]
    async with db.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('export.roles', '["operator", "supervisor"]')
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""")
    _as(web, "petya")
    sheet = load_workbook(io.BytesIO(web.get("/tasks.xlsx", params={"responsible": "all"}).content)).active
    assert sheet.max_row == 1, "the export hides it from a non-member too"


async def test_a_member_takes_it_the_second_is_told_who_was_first(web, db, centre):
    task = centre["task"]
    _as(web, "olga")
    page = web.get(f"/tasks/{task}").text
    assert web.post(f"/tasks/{task}/take", follow_redirects=False).status_code == 403, "CSRF"
    r = web.post(f"/tasks/{task}/take", data={"csrf_token": csrf_from(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task}"
    after = web.get(f"/tasks/{task}").text
    assert "taken by Olga" in after and 'id="take-task"' not in after

    _as(web, "oleg")
    assert _listed(web)[0] == [], "taken: no longer among Oleg's"
    assert _listed(web, {"responsible": "all"})[0] == [task], "but he still sees his queue's task"
    r = web.post(f"/tasks/{task}/take", data={"csrf_token": web.cookies["pbxcrm_csrf"]}, follow_redirects=False)
    assert r.status_code == 409 and "Olga has taken this task already" in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT responsible_user_id FROM tasks WHERE id = $1", task) == centre["olga"]["id"]
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'task' AND action = 'take'") == 1

    # Olga gives it back to the queue through the form: nobody responsible again, Oleg may take it.
    _as(web, "olga")
    page = web.get(f"/tasks/{task}").text
    assert "nobody yet: queue Support" in page
    form = {"csrf_token": csrf_from(page), "title": NUMBER, "status": "new", "responsible_user_id": "",
            "type_id": re.search(r'<option value="(\d+)"[^>]*selected>Call back', page).group(1)}
    assert web.post(f"/tasks/{task}", data=form, follow_redirects=False).status_code == 303
    _as(web, "oleg")
    assert _listed(web)[0] == [task]
    assert web.post(f"/tasks/{task}/take", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                    follow_redirects=False).status_code == 303


async def test_later_that_day_a_voicemail_joins_the_same_task_and_reopens_it(db, centre):
    task = centre["task"]
    async with db.acquire() as conn:
        await conn.execute("UPDATE tasks SET responsible_user_id = $2, status = 'done', closed_at = now() "
                           "WHERE id = $1", task, centre["olga"]["id"])
        await conn.execute("DELETE FROM notifications")
        at = dt.datetime.now(dt.timezone.utc)
        again = await callbacks.create_for_stranger(conn, number="8 903 555-66-77", reason="voicemail",
                                                    queue_id=centre["sales"], at=at)
        replayed = await callbacks.create_for_stranger(conn, number="8 903 555-66-77", reason="voicemail",
                                                       queue_id=centre["sales"], at=at)
        row = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", task)
        told = await conn.fetch("SELECT user_id, body FROM notifications")
        anonymous = await callbacks.create_for_stranger(conn, number="anonymous", reason="missed")
        count = await conn.fetchval("SELECT count(*) FROM tasks")
    assert again == replayed == task, "one task per number per day, whichever way the number is written"
    events = json.loads(row["callback_events"])
    assert [(e["reason"], e["number"], e["call_id"]) for e in events] == [
        ("missed", NUMBER, centre["call"]), ("voicemail", "8 903 555-66-77", None)]
    assert row["queue_id"] == centre["support"], "today's task stays with its queue"
    assert row["status"] == "new" and row["closed_at"] is None and row["responsible_user_id"] == centre["olga"]["id"]
    assert [(r["user_id"], r["body"][:32]) for r in told] == [(centre["olga"]["id"], "8 903 555-66-77 left a voicemail")], \
        "the one who holds it hears of it, once"
    assert anonymous is None and count == 1
    with pytest.raises(ValueError):
        async with db.acquire() as conn:
            await callbacks.create_for_stranger(conn, number=NUMBER, reason="sms")


async def test_the_unknown_callers_list_shows_a_queues_strangers_to_its_members(web, db, centre):
    async with db.acquire() as conn:
        await _missed_call(conn, "s.2", "+7 916 111-22-33", "+79161112233", centre["sales"])
        # A number that has a card by now is no stranger any more.
        await _missed_call(conn, "s.3", "+7 495 000-11-22", "+74950001122", centre["support"])
        await service.create(conn, centre["sveta"], CounterpartyInput(
            kind="client", last_name="Known", contacts=(ContactInput("phone", "+7 495 000-11-22"),)), "RU")
        # Long ago: not recent.
        await _missed_call(conn, "s.4", "+7 916 999-88-77", "+79169998877", centre["support"],
                           started=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40))

    def numbers(name):
        _as(web, name)
        data = web.get("/api/callers/unknown").json()
        return [c["normalized"] for c in data["callers"]], data

    seen, data = numbers("olga")
    assert seen == [KEY] and data["callers"][0]["missed"] == 1 and data["callers"][0]["answered"] == 0
    assert [t["id"] for t in data["callers"][0]["tasks"]] == [centre["task"]]
    assert numbers("sasha")[0] == ["+79161112233"]
    assert numbers("petya")[0] == []
    assert sorted(numbers("sveta")[0]) == sorted([KEY, "+79161112233"])
    _as(web, "sveta")
    assert "+79169998877" in [c["normalized"] for c in web.get("/api/callers/unknown?days=60").json()["callers"]]

    _as(web, "olga")
    page = web.get("/callers/unknown").text
    assert 'id="unknown-callers"' in page and f'data-call="{NUMBER}"' in page and "queue Support" in page
    assert f'href="/tasks/{centre["task"]}"' in page and "phones=%2B7%20903%20555-66-77" in page
    assert 'href="/callers/unknown"' in page, "in the menu"
    assert web.get("/callers/unknown?days=0").status_code == 400
