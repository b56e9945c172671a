"""The demo's history, planned without I/O: calls of a working Moscow call centre over weeks
(an hourly shape with two peaks, quiet Saturdays, closed Sundays), each with its route, outcome
and times; and the agents' working days (login, lunch, short pauses, logout)."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from crm.calls.route import Outcome, step
from crm.demo import sound, texts
from crm.demo.cast import Cast, Person, Queue

PREFIX = "demo-h-"  # the channel ids of the seeded calls: how a second run knows the history is there
DAYS = 42
RECORDED_DAYS = 14  # answered calls of the last two weeks have recordings
SERVICE_DAYS = 14  # missed calls, callbacks and voicemails of these days get their tasks through crm/ code
PER_DAY = 120  # incoming calls of a weekday
HOURS = {9: 0.5, 10: 1.0, 11: 1.35, 12: 1.2, 13: 0.75, 14: 0.9, 15: 1.25, 16: 1.3, 17: 1.0, 18: 0.6, 19: 0.25}
WEEKDAY = (1.1, 1.0, 1.0, 0.95, 0.9, 0.3, 0.0)


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    normalized: str  # +7...
    manager_id: int | None


@dataclass
class Call:
    channel_id: str
    direction: str
    started_at: dt.datetime
    status: str  # answered, missed, busy; 'callback' and 'voicemail' start as missed (crm/ code marks them)
    outcome: str  # answered, missed, callback, voicemail, busy
    caller_number: str = ""
    caller_normalized: str | None = None
    caller_name: str = ""
    called_number: str = ""
    called_normalized: str | None = None
    line: str = ""
    line_id: int | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    counterparty_id: int | None = None
    operator: Person | None = None
    owner_user_id: int | None = None
    caller_user_id: int | None = None
    queue_id: int | None = None
    route: list[dict] = field(default_factory=list)
    comment: str = ""
    recorded_seconds: int | None = None
    voicemail_seconds: int | None = None


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.timezone.utc)


def _talk(rnd: random.Random) -> float:
    return min(1500.0, max(15.0, rnd.lognormvariate(math.log(140), 0.7)))


def _answer(call: Call, rnd: random.Random, wait: float, who: Person, recorded: bool) -> None:
    call.status = call.outcome = "answered"
    call.answered_at = call.started_at + dt.timedelta(seconds=round(wait, 1))
    if recorded:
        call.recorded_seconds = rnd.choice(sound.BASE_SECONDS)
    talk = call.recorded_seconds or _talk(rnd)
    call.ended_at = call.answered_at + dt.timedelta(seconds=round(talk, 1))
    call.operator = who
    call.comment = rnd.choice(texts.CALL_COMMENTS)


def _queue_part(call: Call, rnd: random.Random, queue: Queue, people: dict[int, Person], busy: float,
                recorded: bool, offers: bool) -> None:
    call.queue_id = queue.id
    roll = rnd.random()
    if roll < 0.84 - 0.06 * busy:
        wait = 2 + rnd.expovariate(1 / (4 + 6 * busy))
        who = people[rnd.choice(queue.members)]
        _answer(call, rnd, wait, who, recorded)
        call.route.append(step("queue", "queue", Outcome("answered_by", {"name": who.name, "seconds": round(wait)}),
                               name=queue.name))
    elif roll < 0.95 or not offers:
        wait = 4 + rnd.expovariate(1 / 40)
        call.ended_at = call.started_at + dt.timedelta(seconds=round(min(wait, 115), 1))
        call.route.append(step("queue", "queue", Outcome("caller_gone", {"seconds": round(min(wait, 115))}),
                               name=queue.name))
    elif roll < 0.975:
        call.outcome = "callback"
        call.ended_at = call.started_at + dt.timedelta(seconds=128)
        call.route.append(step("queue", "queue", Outcome("callback_requested"), name=queue.name))
    else:
        call.outcome = "voicemail"
        call.voicemail_seconds = rnd.choice(sound.VOICEMAIL_SECONDS)
        call.ended_at = call.started_at + dt.timedelta(seconds=125 + call.voicemail_seconds)
        call.route.append(step("queue", "queue", Outcome("voicemail_left", {"seconds": call.voicemail_seconds}),
                               name=queue.name))


def _incoming(n: int, at: dt.datetime, rnd: random.Random, cast: Cast, clients: list[Client],
              people: dict[int, Person], busy: float, recorded: bool, offers: bool) -> Call:
    line = rnd.choices(cast.lines, weights=(6, 2.5, 1.5)[:len(cast.lines)])[0]
    client = rnd.choice(clients) if clients and rnd.random() < 0.7 else None
    if client:
        number, name = client.normalized, client.name
        number_dialled = "8" + number[2:] if rnd.random() < 0.5 else number
    else:
        number = number_dialled = f"+79{rnd.randrange(10**9):09d}"
        name = ""
    call = Call(f"{PREFIX}{n}", "incoming", _utc(at), "missed", "missed", caller_number=number_dialled,
                caller_normalized=number, caller_name=name, called_number=line.did,
                called_normalized="+" + line.did, line="trunk", line_id=line.id,
                counterparty_id=client.id if client else None)
    manager = people.get(client.manager_id) if client and client.manager_id else None
    call.owner_user_id = manager.id if manager else None
    if manager and line.queue_id is None:
        if rnd.random() < 0.8:
            wait = rnd.uniform(3, 14)
            _answer(call, rnd, wait, manager, recorded)
            call.route.append(step("manager", "manager", Outcome("answered"), name=manager.name))
            return call
        call.route.append(step("manager", "manager", Outcome("no_answer", {"seconds": 20}), name=manager.name))
        call.started_at -= dt.timedelta(seconds=20)
    queue = cast.queue(line.queue_id) if line.queue_id else cast.queues[0] if cast.queues else cast.default_queue
    _queue_part(call, rnd, queue, people, busy, recorded, offers)
    return call


def _outgoing(n: int, at: dt.datetime, rnd: random.Random, who: Person, client: Client, recorded: bool) -> Call:
    call = Call(f"{PREFIX}{n}", "outgoing", _utc(at), "busy", "busy", caller_number=who.extension,
                caller_name=who.name, called_number="8" + client.normalized[2:], called_normalized=client.normalized,
                counterparty_id=client.id, caller_user_id=who.id, owner_user_id=client.manager_id)
    if rnd.random() < 0.7:
        _answer(call, rnd, rnd.uniform(5, 25), who, recorded)
        call.operator = None
        call.route.append(step("outgoing", "number_named", Outcome("answered"), name=client.name,
                               number=call.called_number))
    else:
        call.status = call.outcome = "busy" if rnd.random() < 0.4 else "missed"
        call.ended_at = call.started_at + dt.timedelta(seconds=round(rnd.uniform(8, 40), 1))
        call.route.append(step("outgoing", "number_named", Outcome("no_answer", {"seconds": 30}), name=client.name,
                               number=call.called_number))
    return call


def calls(rnd: random.Random, now: dt.datetime, tz: ZoneInfo, cast: Cast, clients: list[Client]) -> list[Call]:
    """Every call of the last DAYS days up to `now`, oldest first."""
    people = {p.id: p for p in [*cast.managers, *cast.operators]}
    today = now.astimezone(tz).date()
    out: list[Call] = []
    n = 0
    for back in range(DAYS, -1, -1):
        day = today - dt.timedelta(days=back)
        factor = WEEKDAY[day.weekday()]
        recorded = back < RECORDED_DAYS
        offers = back < SERVICE_DAYS
        for hour, weight in HOURS.items():
            mean = PER_DAY * factor * weight / sum(HOURS.values())
            count = max(0, round(rnd.gauss(mean, math.sqrt(mean) if mean else 0)))
            for _ in range(count):
                at = dt.datetime.combine(day, dt.time(hour, rnd.randrange(60), rnd.randrange(60)), tz)
                n += 1
                out.append(_incoming(n, at, rnd, cast, clients, people, weight, recorded, offers))
            if hour >= 18 or not factor or not clients:
                continue
            for who in cast.managers + cast.operators[:2]:
                if rnd.random() < 0.45 * factor:
                    mine = [c for c in clients[:400] if c.manager_id == who.id] or clients
                    at = dt.datetime.combine(day, dt.time(hour, rnd.randrange(60), rnd.randrange(60)), tz)
                    n += 1
                    out.append(_outgoing(n, at, rnd, who, rnd.choice(mine), recorded))
    return sorted((c for c in out if c.ended_at and c.ended_at <= now), key=lambda c: c.started_at)


def agent_days(rnd: random.Random, now: dt.datetime, tz: ZoneInfo, agents: list[Person],
               reasons: dict[str, int]) -> list[tuple[int, str, int | None, dt.datetime]]:
    """(user id, event, pause reason id, moment) of the agents' working days up to `now`."""
    today = now.astimezone(tz).date()
    events: list[tuple[int, str, int | None, dt.datetime]] = []
    for back in range(DAYS, -1, -1):
        day = today - dt.timedelta(days=back)
        if WEEKDAY[day.weekday()] < 0.5:
            continue
        for agent in agents:
            if rnd.random() < 0.06:
                continue  # a day off
            start = dt.datetime.combine(day, dt.time(8, 45), tz) + dt.timedelta(minutes=rnd.uniform(0, 25))
            end = dt.datetime.combine(day, dt.time(19, 5), tz) + dt.timedelta(minutes=rnd.uniform(0, 20))
            day_events: list[tuple[dt.datetime, str, int | None]] = [(start, "login", None)]
            lunch = dt.datetime.combine(day, dt.time(13, 0), tz) + dt.timedelta(minutes=rnd.uniform(-20, 30))
            pauses = [(lunch, rnd.uniform(30, 60), "lunch")]
            if rnd.random() < 0.2:
                pauses.append((dt.datetime.combine(day, dt.time(16, 0), tz), rnd.uniform(30, 50), "training"))
            for _ in range(rnd.randrange(1, 4)):
                pauses.append((start + dt.timedelta(minutes=rnd.uniform(40, 200)), rnd.uniform(3, 9),
                               "after_call_work"))
            for at, minutes, code in sorted(pauses):
                if at > day_events[-1][0]:
                    back_at = at + dt.timedelta(minutes=minutes)
                    day_events += [(at, "pause", reasons.get(code)), (back_at, "resume", None)]
            day_events.append((end, "logout", None))
            events += [(agent.id, kind, reason, _utc(at)) for at, kind, reason in day_events if _utc(at) <= now]
    return events
