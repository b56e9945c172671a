"""Reliable reminders (J1, issue 20): a notification no browser tab received waits for the next page
the user opens; a deadline without a time reminds at the hour the user's day starts, on their clock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import zoneinfo

import aiohttp

from crm import notifications
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import PASSWORD, csrf_from, make_user
from web.notifier import Notifier

VLADIVOSTOK = zoneinfo.ZoneInfo("Asia/Vladivostok")
DAY = dt.date(2031, 3, 10)  # far from the real clock: the server's own notifier leaves it alone


async def _logged_in(http: aiohttp.ClientSession, login: str) -> str:
    async with http.get("/login") as r:
        token = csrf_from(await r.text())
    async with http.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False) as r:
        assert r.status in (302, 303), await r.text()
    async with http.get("/account") as r:
        return csrf_from(await r.text())


async def _read_until(stream: aiohttp.ClientResponse, wanted: str, seconds: float = 10) -> str:
    """The stream's text up to and including the event that holds `wanted`."""
    text = ""
    async with asyncio.timeout(seconds):
        while wanted not in text:
            text += (await stream.content.readline()).decode()
        text += (await stream.content.readline()).decode()
    return text


async def _delivered(db, notification_id: int) -> bool:
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT browser_sent_at IS NOT NULL FROM notifications WHERE id = $1",
                                   notification_id)


async def test_a_reminder_nobody_received_shows_on_the_next_page_and_date_only_deadlines_wait_for_the_users_day(
        db, web_server, settings):
    olga = await make_user(db, "olga", "manager", full_name="Olga Orlova")
    admin = await make_user(db, "adm", "admin")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(web_server.url, cookie_jar=jar, headers={"Origin": web_server.url}) as http:
        token = await _logged_in(http, "olga")
        # Her day starts at 08:00 in Vladivostok (the form says so; out-of-range hours are refused).
        async with http.post("/account", data={"csrf_token": token, "language": "", "timezone": "Asia/Vladivostok",
                                               "day_start_hour": "25"}) as r:
            assert r.status == 400
        async with http.post("/account", data={"csrf_token": token, "language": "", "timezone": "Asia/Vladivostok",
                                               "day_start_hour": "8"}, allow_redirects=False) as r:
            assert r.status == 303
        async with http.get("/account") as r:
            assert 'name="day_start_hour" type="number" min="0" max="23" value="8"' in await r.text()
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT day_start_hour FROM users WHERE id = $1", olga["id"]) == 8
            assert "day_start_hour" in await conn.fetchval(
                "SELECT changes FROM audit_log WHERE action = 'locale' AND entity_id = $1", olga["id"])
            type_id = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
            task_id = await task_service.create(conn, admin, TaskInput(
                title="Send the price list", type_id=type_id, responsible_user_id=olga["id"], deadline_date=DAY))
            # Not at midnight, not at 07:59 of her day: at 08:00 in Vladivostok (01:00 in Moscow).
            before = dt.datetime.combine(DAY, dt.time(7, 59), VLADIVOSTOK)
            assert await notifications.queue_due_tasks(conn, before, "Europe/Moscow") == 0
            at = dt.datetime.combine(DAY, dt.time(8, 0), VLADIVOSTOK)
            assert await notifications.queue_due_tasks(conn, at, "Europe/Moscow") == 1
            due_id = await conn.fetchval("SELECT id FROM notifications WHERE kind = 'task_due' AND user_id = $1",
                                         olga["id"])

            # The notifier hands it out while no tab of hers listens: it stays undelivered.
            quiet = Notifier(dataclasses.replace(settings, smtp_host=""))
            await quiet.tick(conn)
            pushed, delivered = await conn.fetchrow(
                "SELECT pushed_at IS NOT NULL, browser_sent_at IS NOT NULL FROM notifications WHERE id = $1",
                due_id)
            assert pushed and not delivered

        # The next page she opens (its event stream) shows it, and then it counts as delivered.
        deadline = f"Deadline: #{task_id} Send the price list"
        stream = await http.get("/events", timeout=aiohttp.ClientTimeout(total=None))
        try:
            text = await _read_until(stream, deadline)
            assert "event: notification" in text and f'"/tasks/{task_id}"' in text
        finally:
            stream.close()
        assert await _delivered(db, due_id)

        # A tab that is open gets new ones as they come, and the one already shown does not come again.
        stream = await http.get("/events", timeout=aiohttp.ClientTimeout(total=None))
        try:
            await _read_until(stream, ": connected")
            async with db.acquire() as conn:
                live_id = await notifications.queue(conn, olga["id"], "task_assigned", "Call Pyotr back", "", "/tasks")
                await quiet.tick(conn)
            text = await _read_until(stream, "Call Pyotr back")
            assert deadline not in text
            async with asyncio.timeout(5):
                while not await _delivered(db, live_id):
                    await asyncio.sleep(0.05)
        finally:
            stream.close()


async def test_the_notifications_page_lists_the_users_own_and_delivers_the_new_ones(db, web):
    olga = await make_user(db, "olga", "manager", full_name="Olga Orlova")
    petrov = await make_user(db, "petrov", "operator")
    async with db.acquire() as conn:
        seen = await notifications.queue(conn, olga["id"], "task_assigned", "Call the bank", "", "/tasks")
        await notifications.delivered(conn, olga["id"], seen)
        new = await notifications.queue(conn, olga["id"], "task_due", "Send the invoice", "Today.", "/tasks")
        await notifications.queue(conn, petrov["id"], "task_due", "Petrov's own reminder", "", "/tasks")
    from tests.helpers import login

    login(web, "olga")
    page = web.get("/notifications").text
    listed = page.split('id="notification-list"', 1)[1].split("</ul>", 1)[0]
    assert "Call the bank" in listed and "Send the invoice" in listed and "Petrov's own reminder" not in listed
    assert listed.count('class="new-mark"') == 1 and listed.index("Send the invoice") < listed.index("Call the bank")
    assert await _delivered(db, new)  # shown here: the next page does not show it again
    assert 'class="new-mark"' not in web.get("/notifications").text
