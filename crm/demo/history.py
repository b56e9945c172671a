"""`pbxcrm demo-history`: the planned history (plan.py) written in bulk - calls, their legs and
recordings with sound, voicemails, callback tasks (through crm/'s own callback and voicemail code),
tasks, deals, notes, the agents' sessions and pauses. Idempotent: a database holding the seeded
calls (channel ids starting with plan.PREFIX) is left as it is."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.demo import cast as cast_
from crm.demo import plan, sound, texts
from crm.tasks import callbacks
from crm.voicemails import service as voicemails

log = logging.getLogger(__name__)
_CALL_COLUMNS = ["channel_id", "linked_id", "direction", "caller_number", "caller_normalized", "caller_name",
                 "called_number", "called_normalized", "line", "line_id", "started_at", "answered_at", "ended_at",
                 "status", "counterparty_id", "operator_user_id", "owner_user_id", "caller_user_id", "queue_id",
                 "route", "comment"]


@dataclass
class Seeded:
    calls: int
    recordings: int
    voicemails: int
    tasks: int
    agent_events: int
    seconds: float
    skipped: bool = False
    created_users: dict[str, str] | None = None


async def _clients(conn: asyncpg.Connection, managers: list[int]) -> list[plan.Client]:
    rows = await conn.fetch(
        """SELECT cp.id, cp.display_name, cp.responsible_user_id, ph.normalized
           FROM counterparties cp
           JOIN LATERAL (SELECT normalized FROM contacts WHERE counterparty_id = cp.id AND kind = 'phone'
                           AND normalized LIKE '+7%' ORDER BY id LIMIT 1) ph ON true
           WHERE cp.kind = 'client' AND cp.deleted_at IS NULL AND cp.responsible_user_id = ANY($1::bigint[])
           ORDER BY cp.id LIMIT 600""", managers)
    return [plan.Client(r["id"], r["display_name"], r["normalized"], r["responsible_user_id"]) for r in rows]


def _row(c: plan.Call) -> tuple:
    return (c.channel_id, c.channel_id, c.direction, c.caller_number, c.caller_normalized, c.caller_name,
            c.called_number, c.called_normalized, c.line, c.line_id, c.started_at, c.answered_at, c.ended_at,
            c.status, c.counterparty_id, c.operator.id if c.operator and c.direction == "incoming" else None,
            c.owner_user_id, c.caller_user_id, c.queue_id, json.dumps(c.route), c.comment)


async def _recordings(conn: asyncpg.Connection, calls: list[plan.Call], ids: dict[str, int], root: Path) -> int:
    bases = await sound.bases(root / "demo-sounds", sound.BASE_SECONDS, "talk")
    rows = []
    for c in calls:
        if c.recorded_seconds is None or c.outcome != "answered":
            continue
        path = (root / c.started_at.strftime("%Y/%m/%d") / f"{c.channel_id}.mp3").resolve()
        size = sound.place(bases[c.recorded_seconds], path)
        rows.append((ids[c.channel_id], str(path), "mp3", c.recorded_seconds, size, c.channel_id, c.ended_at))
    await conn.copy_records_to_table("recordings", records=rows, columns=[
        "call_id", "path", "format", "duration_seconds", "size_bytes", "asterisk_name", "created_at"])
    return len(rows)


async def _left_something(conn: asyncpg.Connection, calls: list[plan.Call], root: Path, timezone: str,
                          region: str) -> int:
    """Missed calls, callback requests and voicemails of the last days: their tasks made by crm/'s code."""
    bases = await sound.bases(root / "demo-sounds", sound.VOICEMAIL_SECONDS, "voicemail")
    kept = 0
    for c in calls:
        if c.direction != "incoming" or c.outcome not in ("missed", "callback", "voicemail"):
            continue
        if c.outcome == "missed":
            await callbacks.create_for_missed_call(conn, c.channel_id, timezone, region)
        elif c.outcome == "callback":
            await voicemails.callback_requested(conn, channel_id=c.channel_id, timezone=timezone,
                                                queue_id=c.queue_id, region=region)
        elif c.voicemail_seconds:
            path = (root / "voicemail" / c.started_at.strftime("%Y/%m/%d") / f"{c.channel_id}.mp3").resolve()
            size = sound.place(bases[c.voicemail_seconds], path)
            await voicemails.voicemail_kept(conn, channel_id=c.channel_id, path=str(path), fmt="mp3",
                                            seconds=c.voicemail_seconds, size=size, queue_id=c.queue_id,
                                            timezone=timezone, region=region)
            kept += 1
    # The tasks were made now: they date from their calls; those older than yesterday were done.
    await conn.execute(
        """UPDATE tasks t SET created_at = c.ended_at + interval '1 minute',
                  updated_at = c.ended_at + interval '1 minute',
                  status = CASE WHEN c.started_at < now() - interval '2 days' THEN 'done' ELSE t.status END,
                  closed_at = CASE WHEN c.started_at < now() - interval '2 days'
                                   THEN c.ended_at + interval '3 hours' END,
                  responsible_user_id = coalesce(t.responsible_user_id, c.owner_user_id,
                      (SELECT min(m.user_id) FROM queue_members m WHERE m.queue_id = t.queue_id))
           FROM calls c WHERE c.id = t.call_id AND c.channel_id LIKE $1""", plan.PREFIX + "%")
    await conn.execute(
        """UPDATE voicemails v SET created_at = c.ended_at FROM calls c
           WHERE c.id = v.call_id AND c.channel_id LIKE $1""", plan.PREFIX + "%")
    return kept


async def _work(conn: asyncpg.Connection, rnd: random.Random, now: dt.datetime, tz: ZoneInfo,
                cast: cast_.Cast, clients: list[plan.Client]) -> int:
    """Tasks, deals and notes of the managers' clients; the number of tasks and deals."""
    types = {r["name"].lower(): (r["id"], r["is_deal"])
             for r in await conn.fetch("SELECT id, name, is_deal FROM task_types")}
    plain = [types[n][0] for n in ("task", "meeting", "scheduled call") if n in types]
    deal = next((i for i, d in types.values() if d), None)
    today = now.astimezone(tz).date()
    rows, notes = [], []
    for n in range(240):
        client = rnd.choice(clients)
        owner = client.manager_id or cast.managers[0].id
        created = now - dt.timedelta(days=rnd.uniform(0, plan.DAYS), hours=rnd.uniform(0, 8))
        is_deal = deal is not None and n % 3 == 0
        deadline = created.astimezone(tz).date() + dt.timedelta(days=rnd.randrange(1, 21))
        status = "in_progress" if deadline >= today else rnd.choice(["done", "done", "done", "new"])
        outcome = amount = closed = None
        title = rnd.choice(texts.DEAL_TITLES if is_deal else texts.TASK_TITLES)
        if is_deal:
            amount = round(rnd.uniform(20, 900)) * 1000
            if deadline < today or rnd.random() < 0.2:
                status, outcome = "done", "won" if rnd.random() < 0.55 else "lost"
        if status == "done":
            closed = min(now, created + dt.timedelta(days=rnd.uniform(0.2, 14)))
        rows.append((f"{title}: {client.name}", deal if is_deal else rnd.choice(plain), status, owner, owner,
                     client.id, deadline, dt.time(rnd.randrange(10, 18)) if rnd.random() < 0.4 else None,
                     rnd.choice(texts.NOTES) if rnd.random() < 0.3 else "", amount, outcome, created,
                     closed or created, closed))
    await conn.copy_records_to_table("tasks", records=rows, columns=[
        "title", "type_id", "status", "responsible_user_id", "author_user_id", "counterparty_id", "deadline_date",
        "deadline_time", "remark", "amount", "outcome", "created_at", "updated_at", "closed_at"])
    for _ in range(400):
        client = rnd.choice(clients)
        at = now - dt.timedelta(days=rnd.uniform(0, plan.DAYS))
        notes.append((client.id, client.manager_id, rnd.choice(texts.NOTES), at, at))
    await conn.copy_records_to_table("notes", records=notes, columns=[
        "counterparty_id", "author_user_id", "body", "created_at", "updated_at"])
    return len(rows)


async def seed(conn: asyncpg.Connection, recordings_dir: Path, *, timezone: str = DEFAULT_TIMEZONE,
               region: str = DEFAULT_REGION, seed_value: int | None = None,
               now: dt.datetime | None = None) -> Seeded:
    """The history up to `now`, once. The counterparties (crm/demo_data.py) come first."""
    started = time.monotonic()
    if await conn.fetchval("SELECT 1 FROM calls WHERE channel_id LIKE $1 LIMIT 1", plan.PREFIX + "%"):
        return Seeded(0, 0, 0, 0, 0, time.monotonic() - started, skipped=True)
    rnd, tz = random.Random(seed_value), ZoneInfo(timezone)
    now = now or dt.datetime.now(dt.timezone.utc)
    async with conn.transaction():
        cast = await cast_.ensure(conn)
        clients = await _clients(conn, [m.id for m in cast.managers])
        calls = plan.calls(rnd, now, tz, cast, clients)
        await conn.copy_records_to_table("calls", records=[_row(c) for c in calls], columns=_CALL_COLUMNS)
        ids = {r["channel_id"]: r["id"] for r in await conn.fetch(
            "SELECT id, channel_id FROM calls WHERE channel_id LIKE $1", plan.PREFIX + "%")}
        legs = [(ids[c.channel_id], 1, c.operator.id, c.operator.name, "answered", c.answered_at, c.ended_at)
                for c in calls if c.answered_at and c.operator]
        await conn.copy_records_to_table("call_legs", records=legs, columns=[
            "call_id", "position", "user_id", "name", "how", "answered_at", "ended_at"])
        recorded = await _recordings(conn, calls, ids, recordings_dir)
        recent = now - dt.timedelta(days=plan.SERVICE_DAYS)
        kept = await _left_something(conn, [c for c in calls if c.started_at >= recent], recordings_dir,
                                     timezone, region)
        tasks = await _work(conn, rnd, now, tz, cast, clients) if clients else 0
        reasons = {r["code"]: r["id"]
                   for r in await conn.fetch("SELECT id, code FROM pause_reasons WHERE code IS NOT NULL")}
        events = plan.agent_days(rnd, now, tz, [*cast.managers, *cast.operators], reasons)
        await conn.copy_records_to_table("agent_events", records=[(u, e, r, "web", at) for u, e, r, at in events],
                                         columns=["user_id", "event", "pause_reason_id", "source", "at"])
    await conn.execute("ANALYZE calls; ANALYZE call_legs; ANALYZE recordings; ANALYZE tasks; ANALYZE agent_events")
    return Seeded(len(calls), recorded, kept, tasks, len(events), time.monotonic() - started,
                  created_users=cast.created)
