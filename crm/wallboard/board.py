"""The wallboard's picture from what the database holds (issue 18). Pure: no I/O.

An agent's state on the board: talking (on a call), ringing (a call rings its phone), else its
presence (crm/agents/state.py): logged out (of all queues, or of this queue), paused (with a
reason), in wrap-up, available. A queue's tile turns amber, then red, when its longest wait
reaches the admin's thresholds, or today's service level falls below them (queues, 0032).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crm.agents.state import AgentState

# In the order the board shows them (in words: crm/labels.py WALLBOARD_STATE).
STATES = ("available", "ringing", "talking", "wrapup", "paused", "logged_out")
COLOURS = ("ok", "amber", "red")


@dataclass(frozen=True)
class LiveCall:
    """An agent's part in a call going on now: talking since, or its phone ringing since."""

    user_id: int
    call_id: int
    since: dt.datetime
    visible: bool  # the reader may see the call (its id on the board: listen-in's buttons)


def agent_state(presence: AgentState, now: dt.datetime, *, talking: bool, ringing: bool,
                queue_id: int | None = None) -> str:
    """One of STATES: a call first, then presence (for `queue_id`: logged out of that queue counts)."""
    if talking:
        return "talking"
    if ringing:
        return "ringing"
    if queue_id is not None and presence.logged_in and not presence.in_queue(queue_id):
        return "logged_out"
    return presence.status(now)


def colour_above(value: float | None, amber: float, red: float) -> str:
    """A value that is worse when higher (the longest wait): red from `red`, amber from `amber`."""
    if value is None:
        return "ok"
    if value >= red:
        return "red"
    return "amber" if value >= amber else "ok"


def colour_below(value: float | None, amber: float, red: float) -> str:
    """A value that is worse when lower (the service level, in %): red below `red`, amber below `amber`.
    None (no call offered yet today) is ok."""
    if value is None:
        return "ok"
    if value < red:
        return "red"
    return "amber" if value < amber else "ok"


def worst(*colours: str) -> str:
    return max(colours, key=COLOURS.index)


def state_since(state: str, presence_since: dt.datetime | None, call: LiveCall | None,
                wrapup_since: dt.datetime | None) -> dt.datetime | None:
    """When the agent entered its state: the call's answer or ring, the wrap-up's start, else its
    last presence change or call end (`presence_since`); None when nothing is known."""
    if state in ("talking", "ringing") and call is not None:
        return call.since
    if state == "wrapup" and wrapup_since is not None:
        return wrapup_since
    return presence_since


def count_states(states: Iterable[str]) -> dict[str, int]:
    """How many agents are in each of STATES (every state present, 0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    for s in states:
        counts[s] += 1
    return counts


def paused_reasons(states: Iterable[tuple[str, str | None]]) -> list[dict]:
    """The paused agents' reasons with how many each, most first: [{"reason", "count"}]."""
    counts: dict[str, int] = {}
    for state, reason in states:
        if state == "paused":
            counts[reason or ""] = counts.get(reason or "", 0) + 1
    return [{"reason": r, "count": n} for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def longest_wait(waiting: Iterable[dt.datetime], now: dt.datetime) -> float | None:
    """Seconds the longest-waiting caller has waited (None: nobody waits)."""
    since = min(waiting, default=None)
    return None if since is None else max(0.0, (now - since).total_seconds())


def queue_colours(longest: float | None, service_level: float | None, thresholds: Mapping[str, int]) -> dict:
    """The tile's colours: of the longest wait, of the service level (a share 0..1), and the worse."""
    wait = colour_above(longest, thresholds["wait_amber_seconds"], thresholds["wait_red_seconds"])
    level = colour_below(None if service_level is None else 100 * service_level,
                         thresholds["level_amber_percent"], thresholds["level_red_percent"])
    return {"wait": wait, "level": level, "tile": worst(wait, level)}
