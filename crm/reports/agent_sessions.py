"""Agent sessions from presence events (issue 18): logged-in time and paused time by reason over a
period, as a pure function of the events (crm/migrations/0031_agent_presence.sql's agent_events).

Only the agent's whole changes count (events for all its queues, queue_id NULL); a logout from one
queue leaves the agent logged in. The state at the period's start is the one the last earlier event
left; an agent with no event before is logged out. An open session (no logout yet) counts up to
`until` (now, or the period's end if that is earlier). A logout ends a pause too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    event: str  # login | logout | pause | resume (others are ignored here)
    reason_id: int | None = None


@dataclass
class Session:
    logged_in: float = 0.0  # seconds
    paused: dict[int | None, float] = field(default_factory=dict)  # reason id -> seconds

    @property
    def paused_total(self) -> float:
        return sum(self.paused.values())


def _overlap(a: dt.datetime, b: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (min(b, end) - max(a, start)).total_seconds())


def sessions(events: list[Event], start: dt.datetime, end: dt.datetime, until: dt.datetime) -> Session:
    """Seconds logged in and paused (by reason) within [start, end), the events in any order."""
    end = min(end, until)
    out = Session()
    login_at: dt.datetime | None = None
    pause_at: dt.datetime | None = None
    reason: int | None = None

    def close_pause(at: dt.datetime) -> None:
        nonlocal pause_at
        if pause_at is not None:
            out.paused[reason] = out.paused.get(reason, 0.0) + _overlap(pause_at, at, start, end)
            pause_at = None

    for e in sorted(events, key=lambda e: e.at):
        if e.at >= end:
            break
        if e.event == "login" and login_at is None:
            login_at = e.at
        elif e.event == "logout" and login_at is not None:
            close_pause(e.at)
            out.logged_in += _overlap(login_at, e.at, start, end)
            login_at = None
        elif e.event == "pause" and login_at is not None:
            if pause_at is not None and e.reason_id != reason:
                close_pause(e.at)
            if pause_at is None:
                pause_at, reason = e.at, e.reason_id
        elif e.event == "resume":
            close_pause(e.at)
    close_pause(end)
    if login_at is not None:
        out.logged_in += _overlap(login_at, end, start, end)
    out.paused = {k: round(v, 3) for k, v in out.paused.items() if v > 0}
    out.logged_in = round(out.logged_in, 3)
    return out
