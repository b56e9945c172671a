"""Callback tasks: a lead is never lost (H10, issue 15).

A missed call from a known client becomes a callback task for its manager: one per client
per day, however often the client rings; the unique index tasks_one_callback_per_day
decides, so two app processes cannot double it. Its title and remark are the manager's to
read: written in their language.

A missed call from an unknown number - and a stranger's voicemail or callback request, which
their code reports through `create_for_stranger` - becomes a callback task held by a queue:
the one asked for, else the last queue the call waited in, else the default queue. Nobody is
responsible until a member takes it (crm/tasks/service.take); the members are told, each in
their language. Its title is the number; what happened is kept as events (tasks.callback_events:
reason, number, moment, call), worded in each reader's language when shown (event_text), the
remark being left to people. One such task per number per day (the unique index
tasks_one_stranger_callback_per_day): what happens later that day is added to the same task,
and reopens it if it was closed.

A caller nobody took who asked to be called back or left a voicemail (issue 15) gets a task the
same way (create_for_request): a known client's manager today's task - reopened, the request
added to its remark, if it exists - and a stranger the queue's.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from collections.abc import Callable, Collection

import asyncpg

from crm import formatting, i18n, notifications
from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.i18n import gettext as _
from crm.phones import caller_match_key

log = logging.getLogger(__name__)

# Why someone is to be called back, worded in the language in force (event_text, the known client's remark).
REASONS: dict[str, Callable[[], str]] = {
    "missed": lambda: _("Missed call from %(number)s at %(time)s"),
    "callback_requested": lambda: _("%(number)s asked to be called back at %(time)s"),
    "voicemail": lambda: _("%(number)s left a voicemail at %(time)s"),
}


async def create_for_missed_call(conn: asyncpg.Connection, channel_id: str, timezone: str,
                                 region: str = DEFAULT_REGION) -> int | None:
    """The task's id, or None (answered, no number to call back, a client without a manager, or
    today's client task exists). An unknown caller's call goes to a queue's task."""
    async with conn.transaction():
        call = await _missed_call(conn, channel_id, timezone)
        if call is None:
            stranger = await conn.fetchrow(
                """SELECT id, caller_number, started_at FROM calls
                   WHERE channel_id = $1 AND direction = 'incoming' AND status = 'missed'
                     AND counterparty_id IS NULL""", channel_id)
            if stranger is None:
                return None
            return await create_for_stranger(conn, number=stranger["caller_number"], reason="missed",
                                             call_id=stranger["id"], at=stranger["started_at"],
                                             timezone=timezone, region=region)
        manager = call["responsible_user_id"]
        with i18n.using(await notifications.recipient_language(conn, manager)):
            title = _("Call back %(name)s") % {"name": call["display_name"]}
            remark = REASONS["missed"]() % {"number": call["caller_number"],
                                            "time": formatting.time_of_day(call["local_start"])}
        task_id = await conn.fetchval(
            # due_notified_at: the missed-call notice is the reminder; no second one for "due today".
            """INSERT INTO tasks (title, type_id, responsible_user_id, counterparty_id, call_id, deadline_date,
                                  remark, callback_for_date, due_notified_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $6, now())
               ON CONFLICT (counterparty_id, callback_for_date) WHERE callback_for_date IS NOT NULL DO NOTHING
               RETURNING id""",
            title, call["type_id"], manager, call["counterparty_id"], call["call_id"], call["local_start"].date(),
            remark)
        if task_id is not None:
            await notifications.queue(conn, manager, "missed_call", title, remark, f"/tasks/{task_id}")
    return task_id


async def create_for_stranger(conn: asyncpg.Connection, *, number: str, reason: str, call_id: int | None = None,
                              queue_id: int | None = None, at: dt.datetime | None = None,
                              timezone: str = DEFAULT_TIMEZONE, region: str = DEFAULT_REGION) -> int | None:
    """A callback task for an unknown caller, held by a queue; returns its id - the new task's, or
    the one this number already has today, now with this reason's line - or None when the number
    cannot be called back (anonymous, no usable number).

    `reason`: a key of REASONS ("missed", "callback_requested", "voicemail"). `queue_id`: the queue
    to hold it (None, or a deleted queue: the last queue the call `call_id` waited in, else the
    default queue). `at`: when it happened (default now); its day, on the call centre's clock
    (`timezone`), is the task's deadline and the "per day" of one task per number per day. The
    same event (reason, number, at, call_id) reported twice is kept once: pass `at` to replay.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}: one of {', '.join(REASONS)}")
    key = caller_match_key(number or "", region)
    if key is None:
        log.info("call %s: no number to call back (%r); no %s task", call_id, number, reason)
        return None
    local = (at or dt.datetime.now(dt.timezone.utc)).astimezone(zoneinfo.ZoneInfo(timezone))
    async with conn.transaction():
        queue = await _holding_queue(conn, queue_id, call_id)
        if queue is None:
            log.error("call %s from %s: no live queue to hold its %s task", call_id, number, reason)
            return None
        event = {"reason": reason, "number": number, "at": local.astimezone(dt.timezone.utc).isoformat(),
                 "call_id": call_id}
        task = await _todays_task(conn, key, local.date())
        if task is None:
            return await _new_stranger_task(conn, number, key, event, queue, call_id, local)
        await _add_to_task(conn, task, event, local)
        return task["id"]


def holding_queue(asked: int | None, route: list[dict], last_queue: int | None, live: Collection[int],
                  default: int | None) -> int | None:
    """Which queue holds a stranger's task: the one asked for, else the last queue the call waited
    in (calls.queue_id, written when it entered the queue; then, were that one deleted, the queues
    of its route's steps, latest first), else the default queue - each only while it is not deleted."""
    waited = [s.get("queue_id") for s in route if isinstance(s, dict) and s.get("kind") == "queue"]
    for candidate in (asked, last_queue, *reversed(waited)):
        if isinstance(candidate, int) and candidate in live:
            return candidate
    return default


async def _holding_queue(conn: asyncpg.Connection, asked: int | None, call_id: int | None) -> asyncpg.Record | None:
    call = (await conn.fetchrow("SELECT route, queue_id FROM calls WHERE id = $1", call_id)
            if call_id is not None else None)
    route = json.loads(call["route"]) if call is not None else []
    queues = await conn.fetch("SELECT id, name, is_default FROM queues WHERE deleted_at IS NULL")
    default = next((q["id"] for q in queues if q["is_default"]), None)
    chosen = holding_queue(asked, route if isinstance(route, list) else [], call["queue_id"] if call else None,
                           {q["id"] for q in queues}, default)
    return next((q for q in queues if q["id"] == chosen), None)


async def _todays_task(conn: asyncpg.Connection, key: str, day: dt.date) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, callback_events, status, responsible_user_id, queue_id FROM tasks
           WHERE callback_normalized = $1 AND callback_for_date = $2 AND deleted_at IS NULL
           FOR UPDATE""", key, day)


async def _new_stranger_task(conn: asyncpg.Connection, number: str, key: str, event: dict, queue: asyncpg.Record,
                             call_id: int | None, local: dt.datetime) -> int:
    # The title is the number, in no language: the task's type says "call back" in each reader's.
    task_id = await conn.fetchval(
        # due_notified_at: the notice to the members is the reminder; no second one for "due today".
        """INSERT INTO tasks (title, type_id, queue_id, call_id, callback_number, callback_normalized, deadline_date,
                              callback_events, callback_for_date, due_notified_at)
           VALUES ($1, (SELECT id FROM task_types WHERE NOT is_deal  -- "Call back" (migration 0037), else any
                        ORDER BY code IS DISTINCT FROM 'callback', archived, id LIMIT 1),
                   $2, $3, $1, $4, $5, jsonb_build_array($6::jsonb), $5, now())
           ON CONFLICT (callback_normalized, callback_for_date)
               WHERE callback_normalized IS NOT NULL AND callback_for_date IS NOT NULL AND deleted_at IS NULL
               DO NOTHING
           RETURNING id""",
        number, queue["id"], call_id, key, local.date(), json.dumps(event))
    if task_id is None:  # another process made it a moment ago
        task = await _todays_task(conn, key, local.date())
        assert task is not None
        await _add_to_task(conn, task, event, local)
        return task["id"]
    log.info("call %s: %s task %s for %s held by queue %s", call_id, event["reason"], task_id, number, queue["name"])
    await _tell(conn, task_id, queue["id"], None, event, local)
    return task_id


async def _add_to_task(conn: asyncpg.Connection, task: asyncpg.Record, event: dict, local: dt.datetime) -> None:
    """Today's task for this number hears of something more: the event is added once (a replayed
    one adds nothing), a closed task opens again, and whoever holds it is told (but not of
    every further missed call)."""
    if event in json.loads(task["callback_events"]):
        return
    await conn.execute(
        """UPDATE tasks SET callback_events = callback_events || jsonb_build_array($2::jsonb),
                  status = CASE WHEN status IN ('done', 'cancelled') THEN 'new' ELSE status END,
                  closed_at = CASE WHEN status IN ('done', 'cancelled') THEN NULL ELSE closed_at END,
                  updated_at = now()
           WHERE id = $1""", task["id"], json.dumps(event))
    if event["reason"] != "missed" or task["status"] in ("done", "cancelled"):
        await _tell(conn, task["id"], task["queue_id"], task["responsible_user_id"], event, local)


async def _tell(conn: asyncpg.Connection, task_id: int, queue_id: int | None, responsible_id: int | None,
                event: dict, local: dt.datetime) -> None:
    """The one who took the task, or, while nobody has, every active member of its queue; each in
    their language."""
    if responsible_id is not None:
        people = [responsible_id]
    else:
        people = [r["user_id"] for r in await conn.fetch(
            """SELECT m.user_id FROM queue_members m JOIN users u ON u.id = m.user_id
               WHERE m.queue_id = $1 AND u.deleted_at IS NULL AND NOT u.is_blocked ORDER BY m.user_id""", queue_id)]
    for user_id in people:
        with i18n.using(await notifications.recipient_language(conn, user_id)):
            title = _("Call back %(name)s") % {"name": event["number"]}
            body = event_text(event, formatting.time_of_day(local.replace(tzinfo=None)))
        await notifications.queue(conn, user_id, "queue_task", title, body, f"/tasks/{task_id}")


def event_text(event: dict, time_text: str) -> str:
    """What happened, in the language in force: "Missed call from +7 903 ... at 10:05"."""
    wording = REASONS.get(event.get("reason", ""))
    if wording is None:  # written by a newer version
        return f"{event.get('reason')}: {event.get('number')} {time_text}"
    return wording() % {"number": event.get("number", ""), "time": time_text}


async def create_for_request(conn: asyncpg.Connection, channel_id: str, timezone: str, *, reason: str,
                             queue_id: int | None = None, region: str = DEFAULT_REGION) -> int | None:
    """The callback task of a caller's request - `reason` "callback_requested" or "voicemail", the
    call's status being 'callback' or 'voicemail' - or None (no number to call back, a client
    without an active manager). `queue_id`: the queue whose wait passed, for a stranger's task."""
    async with conn.transaction():
        call = await _missed_call(conn, channel_id, timezone, ("callback", "voicemail"))
        if call is None:
            stranger = await conn.fetchrow(
                """SELECT id, caller_number FROM calls WHERE channel_id = $1 AND direction = 'incoming'
                   AND status IN ('callback', 'voicemail') AND counterparty_id IS NULL""", channel_id)
            if stranger is None:
                return None
            return await create_for_stranger(conn, number=stranger["caller_number"], reason=reason,
                                             call_id=stranger["id"], queue_id=queue_id, timezone=timezone,
                                             region=region)
        manager = call["responsible_user_id"]
        with i18n.using(await notifications.recipient_language(conn, manager)):
            title = _("Call back %(name)s") % {"name": call["display_name"]}
            remark = REASONS[reason]() % {"number": call["caller_number"],
                                          "time": formatting.time_of_day(dt.datetime.now(zoneinfo.ZoneInfo(timezone)))}
        task_id = await conn.fetchval(
            """INSERT INTO tasks (title, type_id, responsible_user_id, counterparty_id, call_id, deadline_date,
                                  remark, callback_for_date, due_notified_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $6, now())
               ON CONFLICT (counterparty_id, callback_for_date) WHERE callback_for_date IS NOT NULL DO UPDATE
                   SET remark = left(tasks.remark || E'\n' || EXCLUDED.remark, 10000), updated_at = now(),
                       status = CASE WHEN tasks.status IN ('done', 'cancelled') THEN 'new' ELSE tasks.status END,
                       closed_at = CASE WHEN tasks.status IN ('done', 'cancelled') THEN NULL ELSE tasks.closed_at END
               RETURNING id""",
            title, call["type_id"], manager, call["counterparty_id"], call["call_id"], call["local_start"].date(),
            remark)
        await notifications.queue(conn, manager, "missed_call", title, remark, f"/tasks/{task_id}")
    return task_id


async def _missed_call(conn: asyncpg.Connection, channel_id: str, timezone: str,
                       statuses: tuple[str, ...] = ("missed",)) -> asyncpg.Record | None:
    """The missed incoming call from a client with an active manager, with what its task needs."""
    return await conn.fetchrow(
        """SELECT c.id AS call_id, c.caller_number, c.started_at AT TIME ZONE $2 AS local_start,
                  cp.id AS counterparty_id, cp.display_name, cp.responsible_user_id, t.id AS type_id
           FROM calls c
           JOIN counterparties cp ON cp.id = c.counterparty_id AND cp.deleted_at IS NULL
           JOIN users u ON u.id = cp.responsible_user_id AND u.deleted_at IS NULL
           JOIN task_types t ON t.code = 'callback'  -- whatever the admin calls it (migration 0037)
           WHERE c.channel_id = $1 AND c.direction = 'incoming' AND c.status = ANY($3::text[])
           LIMIT 1""",
        channel_id, timezone, list(statuses))
