"""Which route a line's call takes now, and the chain of targets it makes. Pure: no I/O.

route_now(line, now) reads the line's business hours (crm/lines/schedule.py) on the call
centre's clock; line_plan turns the route in force into the steps the call's route starts
with and the targets the call path rings (crm/routing/decide.py's Target), or says "the
CRM's own routing" or "hang up". A queue or user that is gone by the time a call comes
sends the call to the default queue, and the route says why: a call is never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from crm.calls import route
from crm.calls.route import Outcome
from crm.lines.model import Line, Route
from crm.lines.schedule import state_at
from crm.routing.decide import QueueRef, RoutingPolicy, Target


@dataclass(frozen=True)
class LineDecision:
    route: Route
    open: bool = True
    holiday: str | None = None  # the name of the holiday that closed the line (may be "")


def route_now(line: Line, now: dt.datetime) -> LineDecision:
    """The line's route at `now` (an aware datetime on the call centre's clock)."""
    if line.hours is None:
        return LineDecision(line.route)
    state = state_at(line.hours, now)
    if state.open:
        return LineDecision(line.route)
    return LineDecision(line.after_hours, open=False,
                        holiday=state.holiday.name if state.holiday is not None else None)


@dataclass(frozen=True)
class LinePlan:
    # Route steps (crm/calls/route.py) to record before anything rings.
    steps: list[dict] = field(default_factory=list)
    # The targets to try in order; None: the CRM's routing by the caller (crm/routing/decide.py).
    chain: list[Target] | None = None
    hang_up: bool = False  # play the closed prompt and hang up


def line_plan(line: Line, decision: LineDecision, policy: RoutingPolicy,
              live_queues: Mapping[int | None, object]) -> LinePlan:
    """`live_queues`: the queues that exist now, by id (the call path's cache)."""
    steps = []
    if not decision.open:
        if decision.holiday is None:
            outcome = Outcome("line_closed")
        else:
            outcome = Outcome("line_holiday", {"holiday": decision.holiday}) if decision.holiday \
                else Outcome("line_closed_holiday")
        steps.append(_line_step(line, outcome))
    target = decision.route
    default = policy.default_queue
    if target.kind == "hangup":
        steps.append(route.step("note", "nothing", Outcome("closed_hangup")))
        return LinePlan(steps, [], hang_up=True)
    if target.kind == "queue":
        queue = target.queue
        if queue is None or queue.id not in live_queues:
            steps.append(_line_step(line, Outcome("line_queue_gone", {"queue": queue.name if queue else "?"})))
            return LinePlan(steps, [Target("queue", f"line {line.name}: its queue is deleted", queue=default)])
        chain = [Target("queue", f"line {line.name} routes to queue {queue.name}", queue=queue)]
        return LinePlan(steps, _then_default(chain, default))
    if target.kind == "user":
        user = target.user
        if user is None or not user.active or not user.extension:
            steps.append(_line_step(line, Outcome("line_user_gone", {"user": user.name if user else "?"})))
            return LinePlan(steps, [Target("queue", f"line {line.name}: its user cannot take calls",
                                           queue=default)])
        chain = [Target("user", f"line {line.name} routes to {user.name}", manager=user,
                        ring_seconds=policy.manager_ring_seconds)]
        return LinePlan(steps, _then_default(chain, default))
    return LinePlan(steps, None)  # "crm": as a call to a number without a line


def _then_default(chain: list[Target], default: QueueRef) -> list[Target]:
    """Every chain ends in the default queue (FEATURES.md H4)."""
    last = chain[-1]
    if last.kind != "queue" or last.queue is None or last.queue.id != default.id:
        chain.append(Target("queue", "fallback", queue=default))
    return chain


def _line_step(line: Line, outcome: Outcome) -> dict:
    return route.step("line", "line", outcome, name=line.name)
