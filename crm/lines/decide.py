"""Which route a line's call takes now, and the chain of targets it makes. Pure: no I/O.

route_now(line, now) reads the line's business hours (crm/lines/schedule.py) on the call
centre's clock; line_plan turns the route in force into the steps the call's route starts
with and the targets the call path rings (crm/routing/decide.py's Target), or says "the
CRM's own routing", "an IVR menu first", "voicemail" or "hang up". route_plan does the same for any
route, a line's or an IVR menu key's. A queue, user or menu that is gone by the time a
call comes sends the call to the default queue, and the route says why: a call is never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from crm.calls import route
from crm.calls.route import Outcome
from crm.lines.model import Line, Route
from crm.lines.schedule import state_at
from crm.routing.decide import CallerFacts, QueueRef, RoutingPolicy, Target

if TYPE_CHECKING:
    from crm.greetings.prompts import Prompt
    from crm.ivr.model import Menu


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
    # An IVR menu to walk first (crm/ivr/walk.py): its route decides the rest.
    menu: "Menu | None" = None
    # Played before anything else: the line's greeting, in business hours.
    greeting: "Prompt | None" = None
    skip_menu_for_known: bool = False  # the line lets known clients skip its menu
    voicemail: bool = False  # offer voicemail (ari_app/inbound/offer.py)


def line_plan(line: Line, decision: LineDecision, policy: RoutingPolicy,
              live_queues: Mapping[int | None, object], live_menus: Mapping[int, "Menu"] | None = None) -> LinePlan:
    """`live_queues`, `live_menus`: the queues and menus that exist now, by id (the call path's cache)."""
    steps = []
    if not decision.open:
        if decision.holiday is None:
            outcome = Outcome("line_closed")
        else:
            outcome = Outcome("line_holiday", {"holiday": decision.holiday}) if decision.holiday \
                else Outcome("line_closed_holiday")
        steps.append(_line_step(line, outcome))
    if decision.route.kind == "hangup":
        steps.append(route.step("note", "nothing", Outcome("closed_hangup")))
        return LinePlan(steps, [], hang_up=True)
    plan = route_plan(decision.route, policy, live_queues, live_menus or {}, by=f"line {line.name}",
                      step=lambda outcome: _line_step(line, outcome))
    return replace(plan, steps=steps + plan.steps, greeting=line.greeting if decision.open else None,
                   skip_menu_for_known=line.skip_menu_for_known)


def route_plan(target: Route, policy: RoutingPolicy, live_queues: Mapping[int | None, object],
               live_menus: Mapping[int, "Menu"], *, by: str, step: Callable[[Outcome], dict]) -> LinePlan:
    """The chain a route makes. `by` names whose route it is in English, for logs ("line Promo",
    "menu Main"); `step(outcome)` is the route step that says why a target is not taken.
    A 'hangup' route is the caller's to word: no step here."""
    default = policy.default_queue
    if target.kind == "hangup":
        return LinePlan([], [], hang_up=True)
    if target.kind == "voicemail":
        return LinePlan([], [], voicemail=True)
    if target.kind == "queue":
        queue = target.queue
        if queue is None or queue.id not in live_queues:
            return LinePlan([step(Outcome("line_queue_gone", {"queue": queue.name if queue else "?"}))],
                            [Target("queue", f"{by}: its queue is deleted", queue=default)])
        chain = [Target("queue", f"{by} routes to queue {queue.name}", queue=queue)]
        return LinePlan([], _then_default(chain, default))
    if target.kind == "user":
        user = target.user
        if user is None or not user.active or not user.extension:
            return LinePlan([step(Outcome("line_user_gone", {"user": user.name if user else "?"}))],
                            [Target("queue", f"{by}: its user cannot take calls", queue=default)])
        chain = [Target("user", f"{by} routes to {user.name}", manager=user, ring_seconds=policy.manager_ring_seconds)]
        return LinePlan([], _then_default(chain, default))
    if target.kind == "ivr":
        menu = live_menus.get(target.menu.id) if target.menu is not None else None
        if menu is None:
            return LinePlan([step(Outcome("route_menu_gone", {"menu": target.menu.name if target.menu else "?"}))],
                            [Target("queue", f"{by}: its menu is deleted", queue=default)])
        return LinePlan([], None, menu=menu)
    if target.kind == "default":  # the menus looped (crm/ivr/walk.py): the step already says so
        return LinePlan([], [Target("queue", f"{by}: the menus loop", queue=default)])
    return LinePlan([], None)  # "crm": as a call to a number without a line


def manager_chain(facts: CallerFacts | None, policy: RoutingPolicy) -> list[Target] | None:
    """A known client's way past a menu: straight to its responsible manager, then the default
    queue; None when the caller is no client with a manager who can take calls."""
    manager = facts.manager if facts is not None else None
    if facts is None or manager is None or not manager.active or not manager.extension:
        return None
    chain = [Target("manager", f"responsible manager of {facts.display_name}", manager=manager,
                    ring_seconds=policy.manager_ring_seconds)]
    return _then_default(chain, policy.default_queue)


def _then_default(chain: list[Target], default: QueueRef) -> list[Target]:
    """Every chain ends in the default queue (FEATURES.md H4)."""
    last = chain[-1]
    if last.kind != "queue" or last.queue is None or last.queue.id != default.id:
        chain.append(Target("queue", "fallback", queue=default))
    return chain


def _line_step(line: Line, outcome: Outcome) -> dict:
    return route.step("line", "line", outcome, name=line.name)
