"""Times on pages are the call centre's, labelled; durations read m:ss (issue 12)."""

import datetime as dt

import pytest
from starlette.testclient import TestClient

from crm import notes
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import login, make_user
from web import formatting
from web.app import create_app

UTC = dt.timezone.utc


def test_times_are_written_on_the_call_centres_clock_with_its_label():
    moment = dt.datetime(2026, 1, 5, 21, 30, tzinfo=UTC)
    assert formatting.local_time(moment) == "06.01.2026 00:30 MSK"
    assert formatting.local_time(moment, "Europe/Moscow", seconds=True) == "06.01.2026 00:30:00 MSK"
    assert formatting.local_time(moment, "Asia/Yekaterinburg") == "06.01.2026 02:30 UTC+05"
    assert formatting.local_time(moment, "Europe/Berlin") == "05.01.2026 22:30 CET"
    assert formatting.local_time(moment.replace(tzinfo=None)) == "06.01.2026 00:30 MSK"  # naive is UTC
    assert formatting.local_time(None) == ""
    assert formatting.local_date(moment) == "06.01.2026"  # the call centre's day, not UTC's
    assert formatting.local_date(dt.date(2026, 1, 5)) == "05.01.2026"
    assert formatting.local_date(dt.date(2026, 1, 5), time_of_day=dt.time(15, 0)) == "05.01.2026 15:00 MSK"


@pytest.mark.parametrize("seconds, written", [
    (154.0, "2:34"), (3725, "1:02:05"), (0, "0:00"), (59.6, "1:00"), (3600, "1:00:00"), (None, ""),
    ("7.2", "0:07"),
])
def test_durations_read_minutes_and_seconds(seconds, written):
    assert formatting.duration(seconds) == written


async def test_the_calls_page_shows_moscow_time_labelled_and_durations_as_minutes(web, db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        client = await service.create(conn, admin, CounterpartyInput(kind="client", last_name="Lis"), "RU")
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, answered_at,
                                  ended_at, status, counterparty_id)
               VALUES ('d.1', 'incoming', '84951234567', '100', '2026-01-05 21:30:00+00', '2026-01-05 21:30:12+00',
                       '2026-01-05 21:32:46+00', 'answered', $1)""", client)
        await notes.add_note(conn, admin, body="called back", counterparty_id=client)
        await conn.execute("UPDATE notes SET created_at = '2026-01-05 23:59:00+00'")
    login(web, "adm")
    row = web.get("/calls").text.split('data-channel="d.1"')[1].split("</tr>")[0]
    assert "06.01.2026 00:30:00 MSK" in row
    assert "21:30" not in row  # not UTC
    assert "<td>0:12</td>" in row and "<td>2:34</td>" in row  # wait and talk, not 12.0 and 154.0
    card = web.get(f"/counterparties/{client}?kinds=note&kinds=call&kinds=").text
    calls = card.split('id="card-calls"')[1].split("</table>")[0]
    assert "06.01.2026 00:30 MSK" in calls and "<td>2:34</td>" in calls
    timeline = card.split('id="timeline"')[1]
    assert "06.01.2026 02:59 MSK" in timeline and "06.01.2026 00:30 MSK" in timeline
    # The API keeps ISO 8601 with the offset; the screen pop's line is on the call centre's clock.
    recent = web.get(f"/api/counterparties/{client}/recent").json()["calls"][0]
    assert recent["started_at"] == "2026-01-05T21:30:00+00:00" and recent["when"] == "06.01.2026 00:30 MSK"


async def test_the_zone_is_the_settings_one(settings, db):
    from dataclasses import replace

    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status)
               VALUES ('d.2', 'incoming', '84951234567', '100', '2026-01-05 21:30:00+00', 'missed')""")
    with TestClient(create_app(replace(settings, timezone="Asia/Vladivostok")), base_url="http://testserver") as web:
        login(web, admin["login"])
        row = web.get("/calls").text.split('data-channel="d.2"')[1].split("</tr>")[0]
        assert "06.01.2026 07:30:00 UTC+10" in row


async def test_report_durations_and_the_period_column_are_labelled(web, db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        for n, talk in enumerate((3725, 154)):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, answered_at,
                                      ended_at, status, operator_user_id)
                   VALUES ($1, 'incoming', '84951234567', '100', '2026-01-05 09:00:00+00', '2026-01-05 09:00:00+00',
                           '2026-01-05 09:00:00+00'::timestamptz + make_interval(secs => $2), 'answered', $3)""",
                f"r.{n}", talk, admin["id"])
    login(web, "adm")
    page = web.get("/reports/calls", params={"from": "2026-01-05", "to": "2026-01-05", "metric": "seconds"}).text
    table = page.split('id="consolidated"')[1].split("</table>")[0]
    assert "<td>1:04:39</td>" in table and "<td>32:20</td>" in table  # total and average talk
    assert "Day, MSK" in page.split('id="series"')[1]


async def test_tasks_notes_and_imports_show_the_call_centres_clock(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        type_id = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        task = await task_service.create(conn, mgr, TaskInput(
            title="Offer", type_id=type_id, responsible_user_id=mgr["id"],
            deadline_date=dt.date(2026, 1, 9), deadline_time=dt.time(15, 0)))
        await notes.add_note(conn, mgr, body="sent", task_id=task)
        await conn.execute("UPDATE tasks SET created_at = '2026-01-05 21:30:00+00'")
        await conn.execute("UPDATE notes SET created_at = '2026-01-05 21:45:00+00'")
        await conn.execute("INSERT INTO import_jobs (user_id, kind, mode, filename, created_at) "
                           "VALUES ($1, 'counterparties', 'valid', 'base.xlsx', '2026-01-05 21:50:00+00')", mgr["id"])
    login(web, "mgr")
    row = web.get("/tasks").text.split(f'data-id="{task}"')[1].split("</tr>")[0]
    assert "<td>06.01.2026</td>" in row  # created: the call centre's day, not UTC's 05.01
    assert "09.01.2026 15:00 MSK" in row  # the deadline, kept on the call centre's clock
    card = web.get(f"/tasks/{task}").text
    assert "created 06.01.2026 00:30 MSK" in card and "06.01.2026 00:45 MSK" in card.split('id="task-notes"')[1]
    assert "06.01.2026 00:50 MSK" in web.get("/import").text
