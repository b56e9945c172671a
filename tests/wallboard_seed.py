"""A call centre in the middle of its day, for the wallboard's tests and its bench (issue 18):
queue Sales with five agents in every state, today's calls, callers waiting; a Secret queue."""

from __future__ import annotations

import datetime as dt
import itertools

from crm.agents import queries as agents_q
from crm.queues import queries as queues_q
from crm.queues.model import QueueInput
from tests.helpers import make_user

_channel = itertools.count(1)


async def add_call(conn, queue_id: int, *, started: dt.datetime, wait: float | None = None,
                   talk: float | None = None, status: str = "answered", agent: int | None = None,
                   queued: dt.datetime | None = None, ringing: list[int] | None = None, number: str = "") -> int:
    """A queue call: ended (wait and talk given), talking (talk None), or waiting (wait None, queued set)."""
    answered = started + dt.timedelta(seconds=wait) if wait is not None and status == "answered" else None
    if answered is not None:
        ended = answered + dt.timedelta(seconds=talk) if talk is not None else None
    else:
        ended = started + dt.timedelta(seconds=wait) if wait is not None else None
    call_id = await conn.fetchval(
        """INSERT INTO calls (channel_id, direction, caller_number, started_at, answered_at, ended_at, status,
                              queue_id, operator_user_id, queued_at, ringing_user_ids, ringing_at)
           VALUES ($1, 'incoming', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
        f"wb.{next(_channel)}", number or f"+7495000{next(_channel):04d}", started, answered, ended,
        status if ended is not None or answered is not None else "ringing", queue_id, agent,
        queued or started, ringing or [], started if ringing else None)
    if agent is not None and answered is not None:
        await conn.execute("""INSERT INTO call_legs (call_id, position, user_id, answered_at, ended_at)
                              VALUES ($1, 1, $2, $3, $4)""", call_id, agent, answered, ended)
    return call_id


async def seed(db) -> dict:
    people = {}
    for n, (login, name) in enumerate((("anna", "Anna A"), ("boris", "Boris B"), ("vera", "Vera V"),
                                       ("gleb", "Gleb G"), ("dina", "Dina D")), 1):
        people[login] = (await make_user(db, login, "operator", full_name=name, extension=f"2{n:02d}"))["id"]
    async with db.acquire() as conn:
        admin = (await make_user(db, "boss", "admin"))["id"]
        sales = await queues_q.save_queue(conn, admin, None, QueueInput("Sales", member_ids=tuple(people.values())))
        secret = await queues_q.save_queue(conn, admin, None, QueueInput("Secret", member_ids=(people["anna"],)))
        now = await conn.fetchval("SELECT now()")
        day_start = await conn.fetchval("SELECT date_trunc('day', now() AT TIME ZONE 'Europe/Moscow') "
                                        "AT TIME ZONE 'Europe/Moscow'")
        base = max(now - dt.timedelta(seconds=600), day_start + dt.timedelta(seconds=1))
        ids = {
            "c1": await add_call(conn, sales, started=base, wait=5, talk=60, agent=people["anna"]),
            "c2": await add_call(conn, sales, started=base, wait=30, talk=100, agent=people["boris"]),
            "c3": await add_call(conn, sales, started=base, wait=40, status="missed"),
            "c4": await add_call(conn, secret, started=base, wait=3, talk=10, agent=people["anna"]),
            "yesterday": await add_call(conn, sales, started=day_start - dt.timedelta(hours=2), wait=3, talk=10,
                                        agent=people["anna"]),
            "w1": await add_call(conn, sales, started=now - dt.timedelta(seconds=50),
                                 queued=now - dt.timedelta(seconds=45), number="+74951110001"),
            "w2": await add_call(conn, sales, started=now - dt.timedelta(seconds=10), ringing=[people["gleb"]],
                                 number="+74951110002"),
            "w3": await add_call(conn, secret, started=now - dt.timedelta(seconds=20), number="+74951110003"),
            "t1": await add_call(conn, sales, started=now - dt.timedelta(seconds=100), wait=5, agent=people["vera"]),
        }
        lunch = await conn.fetchval("SELECT id FROM pause_reasons WHERE code = 'lunch'")
        await agents_q.change(conn, people["dina"], "pause", source="web", reason_id=lunch)
        await agents_q.change(conn, people["boris"], "logout", source="web")
    return {"sales": sales, "secret": secret, "admin": admin, "people": people, "calls": ids, "now": now}
