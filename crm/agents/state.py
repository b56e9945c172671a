"""An agent's presence in its queues, and who a queue may ring now (issue 18). Pure: no I/O.

An agent is logged in (to all its queues, less those it logged out of one by one) or logged
out; logged in, it may be paused with a reason. After a queue call it is in wrap-up until a
time the app sets (the queue's wrap-up seconds). A queue rings only members that are logged
in to it, not paused, out of wrap-up and whose phone is free.

The default, for installs that never use presence: an agent with no state of its own
(`AgentState(user_id)`) is logged in and not paused, so every member is rung as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# end_wrapup: the agent ends its wrap-up early (ready before the queue's wrap-up seconds are over).
ACTIONS = ("login", "logout", "pause", "resume", "end_wrapup")
# What agent_events stores (crm/migrations/0031_agent_presence.sql).
EVENTS = ("login", "logout", "pause", "resume", "wrapup_start", "wrapup_end")
STATUSES = ("available", "paused", "wrapup", "logged_out")  # in words: crm/labels.py AGENT_STATUS


@dataclass(frozen=True)
class AgentState:
    user_id: int
    logged_in: bool = True
    paused: bool = False
    reason_id: int | None = None
    # The queues a logged-in agent logged out of, one by one.
    queues_out: frozenset[int] = frozenset()
    wrapup_until: dt.datetime | None = None

    def in_queue(self, queue_id: int | None) -> bool:
        """Logged in to this queue (None: a queue not saved yet, which has no logouts of its own)."""
        return self.logged_in and queue_id not in self.queues_out

    def in_wrapup(self, now: dt.datetime) -> bool:
        return self.wrapup_until is not None and now < self.wrapup_until

    def status(self, now: dt.datetime) -> str:
        """One of STATUSES: what the header and a wallboard show."""
        if not self.logged_in:
            return "logged_out"
        if self.paused:
            return "paused"
        return "wrapup" if self.in_wrapup(now) else "available"


@dataclass(frozen=True)
class Change:
    """What one action did: the new state and the events to store (event, queue id or None, reason id)."""

    state: AgentState
    events: tuple[tuple[str, int | None, int | None], ...]


class NotAllowed(Exception):
    """The action makes no sense in this state; `why` is a code: not_logged_in, not_paused, no_such_queue,
    not_in_wrapup."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def apply(state: AgentState, action: str, *, queue_id: int | None = None, reason_id: int | None = None,
          member_of: Iterable[int] = (), now: dt.datetime | None = None) -> Change:
    """The agent's state after `action` (one of ACTIONS), for one queue (`queue_id`, login and logout
    only) or all. Doing what is already done changes nothing and stores nothing; pausing again with
    another reason stores the new reason. Raises NotAllowed when the action cannot be done.
    end_wrapup needs `now`: only a wrap-up still running ends (stored as a wrapup_end event)."""
    if action not in ACTIONS:
        raise ValueError(action)
    if action == "end_wrapup":
        if queue_id is not None:
            raise NotAllowed("no_such_queue")
        if now is None or not state.in_wrapup(now):
            raise NotAllowed("not_in_wrapup")
        return Change(dataclasses.replace(state, wrapup_until=None), (("wrapup_end", None, None),))
    if queue_id is not None and (action not in ("login", "logout") or queue_id not in set(member_of)):
        raise NotAllowed("no_such_queue")
    if action == "login":
        if queue_id is None:
            if state.logged_in and not state.queues_out:
                return Change(state, ())
            return Change(dataclasses.replace(state, logged_in=True, queues_out=frozenset()),
                          (("login", None, None),))
        if state.logged_in and queue_id not in state.queues_out:
            return Change(state, ())
        out = state.queues_out - {queue_id} if state.logged_in else frozenset(set(member_of) - {queue_id})
        return Change(dataclasses.replace(state, logged_in=True, queues_out=out), (("login", queue_id, None),))
    if action == "logout":
        if queue_id is None:
            if not state.logged_in:
                return Change(state, ())
            events: tuple = (("resume", None, None),) if state.paused else ()
            return Change(dataclasses.replace(state, logged_in=False, paused=False, reason_id=None,
                                              queues_out=frozenset()), (*events, ("logout", None, None)))
        if not state.in_queue(queue_id):
            return Change(state, ())
        return Change(dataclasses.replace(state, queues_out=state.queues_out | {queue_id}),
                      (("logout", queue_id, None),))
    if not state.logged_in:
        raise NotAllowed("not_logged_in")
    if action == "pause":
        if state.paused and state.reason_id == reason_id:
            return Change(state, ())
        return Change(dataclasses.replace(state, paused=True, reason_id=reason_id), (("pause", None, reason_id),))
    if not state.paused:  # resume
        raise NotAllowed("not_paused")
    return Change(dataclasses.replace(state, paused=False, reason_id=None), (("resume", None, None),))


def ringable(queue_id: int | None, member_ids: Iterable[int], states: Mapping[int, AgentState],
             now: dt.datetime, busy: Iterable[int] = ()) -> list[int]:
    """The members (in their order) a queue may ring now: logged in to it, not paused, out of
    wrap-up and not busy (`busy`: users whose phone cannot take a call). No state: logged in."""
    taken = set(busy)
    out = []
    for user_id in member_ids:
        state = states.get(user_id) or AgentState(user_id)
        if user_id in taken or not state.in_queue(queue_id) or state.paused or state.in_wrapup(now):
            continue
        out.append(user_id)
    return out


def pause_reason_by_number(reason_ids: list[int], number: int) -> int | None:
    """The reason a desk phone's *74N names: N from 1 in the admin's list order; None when no such."""
    return reason_ids[number - 1] if 1 <= number <= len(reason_ids) else None


def moved(ids: list[int], moving: int, steps: int) -> list[int]:
    """The admin's list of pause reasons with one moved `steps` places earlier (negative) or later,
    kept within the list; the header and *74N follow this order."""
    if moving not in ids:
        raise ValueError(moving)
    out = [i for i in ids if i != moving]
    out.insert(max(0, min(len(out), ids.index(moving) + steps)), moving)
    return out


def feature_code(digits: str) -> tuple[str, int | None] | None:
    """A desk phone's feature code as (action, pause reason number or None): *72 log in, *73 log out,
    *74 pause (*74N: with the Nth reason), *75 resume, *76 end wrap-up; None for anything else."""
    codes = {"*72": "login", "*73": "logout", "*74": "pause", "*75": "resume", "*76": "end_wrapup"}
    action = codes.get(digits[:3])
    rest = digits[3:]
    if action is None or (rest and (action != "pause" or not rest.isdigit() or len(rest) > 2)):
        return None
    return action, int(rest) if rest else None
