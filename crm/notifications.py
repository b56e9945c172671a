"""Notifications (J1-J2): queued in an outbox by what happens in the CRM, delivered
to the user's browsers (LISTEN/NOTIFY -> Server-Sent Events) and by e-mail.

Written when queued, in the recipient's language (issue 14): theirs, else the call
centre's, else English; whoever queues one says it `with i18n.using(await
recipient_language(conn, user_id))`."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from crm import appsettings, formatting, i18n
from crm.defaults import DEFAULT_TIMEZONE
from crm.i18n import gettext as _
from crm.pops import CHANNEL


async def queue(conn: asyncpg.Connection, user_id: int, kind: str, title: str, body: str = "", url: str = "",
                *, email: bool = True) -> int:
    return await conn.fetchval(
        "INSERT INTO notifications (user_id, kind, title, body, url, email_wanted) VALUES ($1, $2, $3, $4, $5, $6) "
        "RETURNING id", user_id, kind, title[:300], body[:2000], url, email)


async def recipient_language(conn: asyncpg.Connection, user_id: int) -> str:
    """The language to write to this user in: theirs, the call centre's, or English.
    (Not their browser's: nobody's browser is asking.)"""
    own = await conn.fetchval("SELECT language FROM users WHERE id = $1", user_id)
    return i18n.choose(own, None if own else await appsettings.centre_language(conn))


async def task_assigned(conn: asyncpg.Connection, task_id: int, actor_id: int | None) -> None:
    """Tell the responsible user, unless they gave the task to themselves."""
    row = await conn.fetchrow("SELECT id, title, responsible_user_id, deadline_date, deadline_time FROM tasks "
                              "WHERE id = $1", task_id)
    if row and row["responsible_user_id"] is not None and row["responsible_user_id"] != actor_id:
        with i18n.using(await recipient_language(conn, row["responsible_user_id"])):
            title = _("Task #%(id)s for you: %(title)s") % {"id": task_id, "title": row["title"]}
            body = _("A task was assigned to you.")
            if row["deadline_date"]:
                when = formatting.day_and_time(row["deadline_date"], row["deadline_time"])
                body += " " + _("Deadline %(when)s.") % {"when": when}
        await queue(conn, row["responsible_user_id"], "task_assigned", title, body, f"/tasks/{task_id}")


async def queue_due_tasks(conn: asyncpg.Connection, now: dt.datetime, centre_zone: str = DEFAULT_TIMEZONE) -> int:
    """Queue a notification for every open task whose deadline has come, once.

    A deadline with a time comes then, on the call centre's clock. One without a time comes at the
    hour the responsible user's working day starts (users.day_start_hour), on their own clock.
    """
    rows = await conn.fetch(
        """UPDATE tasks t SET due_notified_at = now()
           FROM users u
           WHERE u.id = t.responsible_user_id  -- a queue's task nobody took: told when it was made
             AND t.due_notified_at IS NULL AND t.deleted_at IS NULL AND t.status IN ('new', 'in_progress')
             AND t.deadline_date IS NOT NULL
             AND CASE WHEN t.deadline_time IS NULL
                      THEN (t.deadline_date + make_time(u.day_start_hour, 0, 0)) AT TIME ZONE coalesce(u.timezone, $2)
                      ELSE (t.deadline_date + t.deadline_time) AT TIME ZONE $2 END <= $1
           RETURNING t.id, t.title, t.responsible_user_id, t.deadline_date, t.deadline_time""",
        now, centre_zone)
    for r in rows:
        with i18n.using(await recipient_language(conn, r["responsible_user_id"])):
            when = formatting.day_and_time(r["deadline_date"], r["deadline_time"])
            title = _("Deadline: #%(id)s %(title)s") % {"id": r["id"], "title": r["title"]}
            body = _("The deadline (%(when)s) has come.") % {"when": when}
        await queue(conn, r["responsible_user_id"], "task_due", title, body, f"/tasks/{r['id']}")
    return len(rows)


_FIELDS = "id, user_id, kind, title, body, url"


async def to_browsers(conn: asyncpg.Connection, limit: int = 100) -> int:
    """Hand new notifications to the web workers' event streams. Each stays undelivered until a tab of
    its user receives it (delivered()); one nobody was listening for waits for the next page (backlog())."""
    rows = await conn.fetch(
        f"""UPDATE notifications SET pushed_at = now() WHERE id IN (
               SELECT id FROM notifications WHERE pushed_at IS NULL AND browser_sent_at IS NULL ORDER BY id LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING {_FIELDS}""", limit)
    for r in rows:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"sse": "notification", **dict(r)}))
    return len(rows)


async def delivered(conn: asyncpg.Connection, user_id: int, notification_id: int) -> None:
    """A tab of this user received the notification: it is not shown again on the next page."""
    await conn.execute(
        """UPDATE notifications SET browser_sent_at = now(), pushed_at = coalesce(pushed_at, now())
           WHERE id = $1 AND user_id = $2 AND browser_sent_at IS NULL""", notification_id, user_id)


async def backlog(conn: asyncpg.Connection, user_id: int, limit: int = 50) -> list[dict]:
    """The user's notifications no tab received (they had no CRM page open), oldest first, now delivered:
    the page that asks shows them."""
    rows = await conn.fetch(
        f"""UPDATE notifications SET browser_sent_at = now(), pushed_at = coalesce(pushed_at, now())
            WHERE id IN (SELECT id FROM notifications WHERE user_id = $1 AND browser_sent_at IS NULL
                         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING {_FIELDS}""", user_id, limit)
    return sorted((dict(r) for r in rows), key=lambda r: r["id"])


async def mark_delivered(conn: asyncpg.Connection, user_id: int, ids: list[int]) -> None:
    """Shown on the user's notifications page: not shown again on the next page."""
    await conn.execute(
        """UPDATE notifications SET browser_sent_at = now(), pushed_at = coalesce(pushed_at, now())
           WHERE id = ANY($2::bigint[]) AND user_id = $1 AND browser_sent_at IS NULL""", user_id, ids)


async def recent(conn: asyncpg.Connection, user_id: int, limit: int = 50) -> list[asyncpg.Record]:
    """The user's latest notifications, newest first, for their notifications page."""
    return await conn.fetch(
        """SELECT id, kind, title, body, url, created_at, browser_sent_at FROM notifications
           WHERE user_id = $1 ORDER BY id DESC LIMIT $2""", user_id, limit)


async def unsent_emails(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT n.id, n.title, n.body, n.url, u.email, u.full_name FROM notifications n
           JOIN users u ON u.id = n.user_id
           WHERE n.email_sent_at IS NULL AND n.email_error IS NULL AND n.email_wanted ORDER BY n.id LIMIT $1""", limit)


async def mark_email(conn: asyncpg.Connection, notification_id: int, error: str | None) -> None:
    if error:
        await conn.execute("UPDATE notifications SET email_error = $2 WHERE id = $1", notification_id, error[:500])
    else:
        await conn.execute("UPDATE notifications SET email_sent_at = now() WHERE id = $1", notification_id)


_DELIVERY_LOCK = 0x70627863726E  # "pbxcrn": the notifier's advisory lock


async def take_delivery_lock(conn: asyncpg.Connection) -> bool:
    """True when this session now delivers notifications (one web worker at a time does)."""
    return await conn.fetchval("SELECT pg_try_advisory_lock($1)", _DELIVERY_LOCK)
