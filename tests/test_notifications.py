"""Notifications (J1-J2): a task's deadline in the browser and by e-mail; e-mails on assignment and missed calls."""

import datetime as dt
import os

from crm.clock import Clock
from crm.counterparties import service as cp_service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.tasks import service as task_service
from crm.tasks.callbacks import create_for_missed_call
from crm.tasks.model import TaskInput
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, mailbox, make_user  # noqa: F401 (a fixture)
from tests.telephony import wait_for

# Stands in for the browser's Notification API and records what the page shows.
RECORD_NOTIFICATIONS = """
window.__shown = [];
window.Notification = function (title, options) {
  this.title = title; this.body = (options || {}).body; window.__shown.push(this);
};
window.Notification.permission = "granted";
window.Notification.requestPermission = () => Promise.resolve("granted");
"""


async def test_deadline_assignment_and_missed_call_notifications(db, database_url, chromium, mailbox, tmp_path):
    admin = await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", email="ivanova@example.test")
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url, PBXCRM_SMTP_HOST="127.0.0.1",
                                PBXCRM_SMTP_PORT=str(mailbox.port), PBXCRM_NOTIFY_INTERVAL_SECONDS="1"),
                           tmp_path / "web.log")
    await web.start()
    try:
        page = await logged_in_page(chromium, web.url, "ivanova", PASSWORD, init_script=RECORD_NOTIFICATIONS)
        await page.wait_for_selector("body[data-pops=ready]")

        # The admin gives Ivanova a task due in four seconds.
        due = Clock().now() + dt.timedelta(seconds=4)
        async with db.acquire() as conn:
            types = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM task_types")}
            task_id = await task_service.create(conn, admin, TaskInput(
                title="Send the contract", type_id=types["Task"], responsible_user_id=ivanova["id"],
                deadline_date=due.date(), deadline_time=due.time().replace(tzinfo=None, microsecond=0)))

        assigned = f"Task #{task_id} for you: Send the contract"
        deadline = f"Deadline: #{task_id} Send the contract"
        shown = await wait_for(lambda: _titles(page, deadline), timeout=15)
        assert shown, web.log_text()
        assert assigned in shown and shown.index(assigned) < shown.index(deadline)
        # Clicking the notification opens the task.
        await page.evaluate(f"window.__shown.find(n => n.title === {deadline!r}).onclick()")
        await page.wait_for_url(f"{web.url}/tasks/{task_id}")

        assert await wait_for(lambda: deadline in mailbox.subjects_to("ivanova@example.test"), timeout=10)
        assert assigned in mailbox.subjects_to("ivanova@example.test")

        # A missed call from her client: a callback task, and an e-mail about it.
        async with db.acquire() as conn:
            client = await cp_service.create(conn, ivanova, CounterpartyInput(
                kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
                contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, started_at, ended_at,
                                      status, counterparty_id)
                   VALUES ('missed.1', 'incoming', '84951234567', '+74951234567', now(), now(), 'missed', $1)""",
                client)
            assert await create_for_missed_call(conn, "missed.1", "Europe/Moscow") is not None
        assert await wait_for(lambda: "Call back Sokolov Ivan" in mailbox.subjects_to("ivanova@example.test"),
                              timeout=10)
    finally:
        await web.close()
    # Each notification once.
    subjects = mailbox.subjects_to("ivanova@example.test")
    assert sorted(subjects) == sorted([assigned, deadline, "Call back Sokolov Ivan"])


async def _titles(page, wanted):
    titles = await page.evaluate("window.__shown.map(n => n.title)")
    return titles if wanted in titles else None
