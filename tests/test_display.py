"""Times on pages are the reader's clock, labelled, in their language's form; durations read m:ss
(issues 12 and 14). The HTTP tests read as an English-speaking user (no Accept-Language)."""

import datetime as dt
import functools

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
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


def test_times_are_written_on_the_call_centres_clock_with_its_label():
    moment = dt.datetime(2026, 1, 5, 21, 30, tzinfo=UTC)
    ru = functools.partial(formatting.local_time, language="ru")
    assert ru(moment) == "06.01.2026, 00:30 MSK"
    assert ru(moment, "Europe/Moscow", seconds=True) == "06.01.2026, 00:30:00 MSK"
    assert ru(moment, "Asia/Yekaterinburg") == "06.01.2026, 02:30 UTC+05"
    assert ru(moment, "Europe/Berlin") == "05.01.2026, 22:30 CET"
    assert ru(moment.replace(tzinfo=None)) == "06.01.2026, 00:30 MSK"  # naive is UTC
    assert ru(None) == ""
    assert formatting.local_date(moment, language="ru") == "06.01.2026"  # the call centre's day, not UTC's
    assert formatting.local_date(dt.date(2026, 1, 5), language="ru") == "05.01.2026"
    assert formatting.local_date(dt.date(2026, 1, 5), time_of_day=dt.time(15, 0), language="ru") == \
        "05.01.2026, 15:00 MSK"
    # English: CLDR's month/day/year with the full year, a 12-hour clock.
    assert formatting.local_time(moment, language="en") == f"1/6/2026, 12:30{NNBSP}AM MSK"
    assert formatting.local_time(moment, seconds=True, language="en") == f"1/6/2026, 12:30:00{NNBSP}AM MSK"
    assert formatting.local_date(moment, language="en") == "1/6/2026"
    # Numbers: the locale's separators.
    assert formatting.number(1234567.5, "ru") == "1\xa0234\xa0567,5"
    assert formatting.number(1234567.5, "en") == "1,234,567.5"
    assert formatting.number(0.5, "ru", digits=2) == "0,50"
    assert formatting.percent(0.873, "en") == "87%"


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
    assert f"1/6/2026, 12:30:00{NNBSP}AM MSK" in row
    assert "21:30" not in row  # not UTC
    assert ">0:12</td>" in row and ">2:34</td>" in row  # wait and talk, not 12.0 and 154.0
    card = web.get(f"/counterparties/{client}?kinds=note&kinds=call&kinds=").text
    calls = card.split('id="card-calls"')[1].split("</table>")[0]
    assert f"1/6/2026, 12:30{NNBSP}AM MSK" in calls and ">2:34</td>" in calls
    timeline = card.split('id="timeline"')[1]
    assert f"1/6/2026, 2:59{NNBSP}AM MSK" in timeline and f"1/6/2026, 12:30{NNBSP}AM MSK" in timeline
    # The API keeps ISO 8601 with the offset; the screen pop's line is on the call centre's clock.
    recent = web.get(f"/api/counterparties/{client}/recent").json()["calls"][0]
    assert recent["started_at"] == "2026-01-05T21:30:00+00:00" and recent["when"] == f"1/6/2026, 12:30{NNBSP}AM MSK"


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
        assert f"1/6/2026, 7:30:00{NNBSP}AM UTC+10" in row


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
    assert ">1:04:39</td>" in table and ">32:20</td>" in table  # total and average talk
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
    assert ">1/6/2026</td>" in row  # created: the call centre's day, not UTC's 1/5
    assert f"1/9/2026, 3:00{NNBSP}PM MSK" in row  # the deadline, kept on the call centre's clock
    card = web.get(f"/tasks/{task}").text
    assert f"1/6/2026, 12:30{NNBSP}AM MSK" in card and f"1/6/2026, 12:45{NNBSP}AM MSK" in card.split('id="task-notes"')[1]
    assert f"1/6/2026, 12:50{NNBSP}AM MSK" in web.get("/import").text


async def test_a_russian_reader_sees_russian_dates(web, db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status)
               VALUES ('d.3', 'incoming', '84951234567', '100', '2026-01-05 21:30:00+00', 'missed')""")
    login(web, admin["login"])
    web.headers["Accept-Language"] = "ru-RU,ru;q=0.9,en;q=0.5"
    page = web.get("/calls").text
    assert '<html lang="ru">' in page
    row = page.split('data-channel="d.3"')[1].split("</tr>")[0]
    assert "06.01.2026, 00:30:00 MSK" in row and "пропущен" in row
    assert "1 звонок" in page


async def test_a_users_own_zone_and_language_win(web, db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status)
               VALUES ('d.4', 'incoming', '84951234567', '100', '2026-01-05 21:30:00+00', 'missed')""")
        await conn.execute("UPDATE users SET language = 'ru', timezone = 'Asia/Vladivostok' WHERE id = $1",
                           admin["id"])
    login(web, admin["login"])
    web.headers["Accept-Language"] = "en-US"  # the user's own setting wins over the browser
    row = web.get("/calls").text.split('data-channel="d.4"')[1].split("</tr>")[0]
    assert "06.01.2026, 07:30:00 UTC+10" in row


def test_a_deadline_kept_on_the_call_centres_clock_reads_on_the_readers_clock():
    # 15:00 in Moscow is 22:00 in Vladivostok: the label must not lie about the moment.
    assert formatting.local_date(dt.date(2026, 1, 9), "Asia/Vladivostok", dt.time(15, 0), "ru",
                                 centre_zone="Europe/Moscow") == "09.01.2026, 22:00 UTC+10"
    assert formatting.local_date(dt.date(2026, 1, 9), "Europe/Moscow", dt.time(15, 0), "ru",
                                 centre_zone="Europe/Moscow") == "09.01.2026, 15:00 MSK"
