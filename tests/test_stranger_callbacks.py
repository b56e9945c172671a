"""A missed call from an unknown number is a lead (issue 15): a callback task held by the last
queue the call waited in, for its members to take, one per number per day. Played through the
Stasis app against the fake ARI (tests/fake_ari.py), as tests/test_call_flow.py does; the
choice of queue alone, as a pure function, at the end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import zoneinfo

from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from crm.queues import queries as queues_q
from crm.queues.model import QueueInput
from crm.tasks.callbacks import holding_queue
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    STRANGER,
    ended_row,
    fake,
    route,
    spec,
    start_app,
)
from tests.helpers import make_user

DID = "74957770000"


async def _tasks(db, wanted: int = 1, timeout: float = 5.0) -> list:
    """The tasks, once there are `wanted` (the callback task is written after the call's end)."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.acquire() as conn:
            rows = await conn.fetch("SELECT t.*, tt.name AS type FROM tasks t JOIN task_types tt ON tt.id = t.type_id "
                                    "ORDER BY t.id")
        if len(rows) >= wanted or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


async def _notifications(db) -> list[tuple[int, str, str, str]]:
    async with db.acquire() as conn:
        return [tuple(r) for r in await conn.fetch("SELECT user_id, kind, title, url FROM notifications ORDER BY id")]


async def _missed_in_the_queue(fake, db, phone: str, called: str | None = None, rung_before: int = 0):
    """The stranger calls, waits while `phone` rings in the queue, and hangs up."""
    caller = await fake.incoming(STRANGER, **({"called": called} if called else {}))
    leg = (await fake.next_originate(phone, after=rung_before)).query["channelId"]
    await fake.hang_up(caller)
    await fake.wait_gone(leg)
    return await ended_row(db, caller)


async def test_a_strangers_missed_call_leaves_one_task_a_day_to_the_queue_it_waited_in(db, crm, fake, start_app):
    await start_app()
    first = await _missed_in_the_queue(fake, db, "PJSIP/103")
    assert first["status"] == "missed" and first["counterparty_id"] is None
    async with db.acquire() as conn:
        steps = json.loads(await conn.fetchval("SELECT route FROM calls WHERE id = $1", first["id"]))
    assert steps[0]["kind"] == "queue" and steps[0]["queue_id"] == crm["queue"], "the route names the queue's id"

    [task] = await _tasks(db)
    assert task["queue_id"] == crm["queue"] and task["responsible_user_id"] is None
    assert task["callback_number"] == STRANGER and task["callback_normalized"] == STRANGER
    assert task["call_id"] == first["id"] and task["counterparty_id"] is None
    assert task["type"] == "Call back" and task["title"] == STRANGER and task["status"] == "new"
    assert task["deadline_date"] == dt.datetime.now(zoneinfo.ZoneInfo("Europe/Moscow")).date()
    [event] = json.loads(task["callback_events"])
    assert event["reason"] == "missed" and event["number"] == STRANGER and event["call_id"] == first["id"]
    assert dt.datetime.fromisoformat(event["at"]) == first["started_at"] and task["remark"] == ""
    # The queue's member (Petrov) is told; Ivanova, in no queue, is not.
    assert await _notifications(db) == [(crm["petrov"]["id"], "queue_task", f"Call back {STRANGER}",
                                         f"/tasks/{task['id']}")]

    # The same number again the same day: still one task, and no second notice for a second missed call.
    second = await _missed_in_the_queue(fake, db, "PJSIP/103", rung_before=1)
    await asyncio.sleep(0.3)
    tasks = await _tasks(db)
    assert len(tasks) == 1 and tasks[0]["id"] == task["id"] and second["id"] != first["id"]
    assert [e["call_id"] for e in json.loads(tasks[0]["callback_events"])] == [first["id"], second["id"]]
    assert len(await _notifications(db)) == 1


async def test_the_task_goes_to_the_lines_queue_not_the_default_one(db, crm, fake, start_app):
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        promo = await queues_q.save_queue(conn, crm["ivanova"]["id"], None, QueueInput(
            "Promo team", ring_seconds=5, max_wait_seconds=20, member_ids=(lebedev["id"],)))
        await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(
            name="Promo", trunk="trunk", did=DID, route_kind="queue", route_queue_id=promo))
    await start_app()
    row = await _missed_in_the_queue(fake, db, "PJSIP/104", called=DID)
    assert route(row)[0][:2] == ("queue", "queue Promo team") and row["queue_id"] == promo
    [task] = await _tasks(db)
    assert task["queue_id"] == promo and task["responsible_user_id"] is None
    assert [n[0] for n in await _notifications(db)] == [lebedev["id"]], "Promo's member, not the default queue's"


def test_the_holding_queue_is_the_last_live_queue_the_call_waited_in():
    route = [{"kind": "queue", "queue_id": 2}, {"kind": "manager", "name": "Ivanova"},
             {"kind": "queue", "queue_id": 3}, {"kind": "note"}]
    live = {1, 2, 3, 4}
    assert holding_queue(None, route, 3, live, 1) == 3
    assert holding_queue(None, route[:1], 3, live, 1) == 3, "the call's queue, before its step is written"
    assert holding_queue(4, route, 3, live, 1) == 4, "the queue asked for first"
    assert holding_queue(9, route, 3, live, 1) == 3, "a deleted queue asked for: the call's"
    assert holding_queue(None, route, 3, {1, 2}, 1) == 2, "the last queue deleted: the one before"
    assert holding_queue(None, route, None, live, 1) == 3, "no queue on the row: the route's last"
    assert holding_queue(None, [{"kind": "queue", "name": "old"}], None, live, 1) == 1, "else the default"
    assert holding_queue(None, [{"kind": "queue", "queue_id": "3"}], None, live, 1) == 1, "ids are numbers"
    assert holding_queue(None, [], None, set(), None) is None
