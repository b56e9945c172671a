"""A line's greeting and IVR menu on the call path (issue 15, FEATURES.md L3).

Before the line's route, the caller hears the line's greeting (in business hours) and is
walked through its menu: each menu is played in the call's language, a key interrupts it
(ari_app/keypad.py), and the pure walk (crm/ivr/walk.py) says what the keys pressed so far
lead to - play a menu (again), or leave by a route. The route becomes the chain the
session rings (crm/lines/decide.py's route_plan); a target gone since the menu was saved
sends the call to the default queue, and the route says why. A known client with a
manager may skip the menu (the line's or the menu's setting) straight to the manager.

The caller's channel is answered to hear the menu (the Menu state); a phone rung after it
gives the caller ringback on the answered channel (RingingAfterMenu) rather than silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ari_app.call_states import CallState, InvalidTransition, Queued, Ringing, Routing
from crm.calls import route
from crm.calls.route import Outcome
from crm.greetings.prompts import GOODBYE_SOUND, INVALID_KEY_SOUND, Prompt
from crm.ivr.model import Menu as MenuSpec
from crm.ivr.walk import Go, walk
from crm.lines.decide import LinePlan, manager_chain, route_plan

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)


class Menu(CallState):
    """The caller hears the line's greeting or an IVR menu: answered, no ringback, no music."""

    name = "menu"

    async def enter(self) -> None:
        await self._stop_holding()
        if not self.answered:
            self.answered = await self.line.quietly(self.line.media.answer(self.line.channel_id))

    def ring(self) -> CallState:
        return self._to(RingingAfterMenu)

    def queue(self, moh_class: str) -> CallState:
        return self._to(Queued, moh_class=moh_class)

    def offer(self, offer: str) -> CallState:
        """A route to voicemail after the greeting or a menu key (ari_app/inbound/offer.py)."""
        return self._offering(offer)


class RingingAfterMenu(Ringing):
    """A phone rings after the menu answered the caller: ringback on the answered channel (ARI
    `ring` makes Asterisk play the ringing tone itself), stopped as any ringback is."""

    async def enter(self) -> None:
        if self.ringback is None:
            self.ringback = asyncio.ensure_future(self.line.quietly(self.line.media.ring(self.line.channel_id)))


def to_menu(state: CallState) -> CallState:
    """The transition into the menu: from Routing (before anything rang), or from a menu."""
    if not isinstance(state, (Routing, Menu)):
        raise InvalidTransition(f"channel {state.line.channel_id}: menu in state {state.name}")
    return state._to(Menu)


async def greet_and_walk(session: "CallSession", plan: LinePlan) -> LinePlan | None:
    """The line's greeting, then its menu (or the known client's way past it); the plan the
    session goes on with (its chain; None: the CRM's routing), or None when the call is over here."""
    d = session.d
    started = time.monotonic()
    if plan.greeting is not None:
        await session._go(to_menu, session.state)
        played = await session.keypad.play([plan.greeting.media(d.greetings_dir)])
        if session.caller_gone.is_set():
            _greeting_step(session, plan.greeting, Outcome("caller_gone", {"seconds": _since(started)}))
            return None
        _greeting_step(session, plan.greeting, Outcome("greeting_played" if played else "greeting_failed"))
    menu = plan.menu
    if menu is None:
        return replace(plan, greeting=None)
    chain = manager_chain(session._facts, d.crm.policy()) if plan.skip_menu_for_known or menu.skip_known else None
    if chain is not None:
        _menu_step(session, menu.name, Outcome("menu_skipped", {"manager": chain[0].name}))
        return LinePlan(chain=chain)
    return await _walk(session, menu)


async def _walk(session: "CallSession", start: MenuSpec) -> LinePlan | None:
    d, keypad = session.d, session.keypad
    menus = d.crm.menus()  # replaced, not changed, when the cache is read again: this call's copy
    presses: list[str | None] = []
    recorded = 0
    if not isinstance(session.state, Menu):
        await session._go(to_menu, session.state)
    started = time.monotonic()
    while True:
        step = walk(menus, start, presses)
        for s in step.steps[recorded:]:
            _menu_step(session, s.menu, s.outcome)
        recorded = len(step.steps)
        if isinstance(step.next, Go):
            return await _leave(session, step.next)
        ask = step.next
        sounds = [f"sound:{INVALID_KEY_SOUND}"] if ask.invalid else []
        sounds.append(ask.menu.prompt.media(d.greetings_dir))
        # One key; '#' is a key of the menu like the others, so nothing ends the input early.
        key = await keypad.ask(sounds, timeout=ask.menu.timeout_seconds, digits=1, stop_on="")
        if session.caller_gone.is_set():
            _menu_step(session, ask.menu.name, Outcome("caller_gone", {"seconds": _since(started)}))
            return None
        log.info("channel %s: menu %s, %s", session.call.channel_id, ask.menu.name,
                 f"pressed {key}" if key else "no key")
        presses.append(key)


async def _leave(session: "CallSession", go: Go) -> LinePlan | None:
    """The walk's route as the plan the session rings; a hang-up is done here, politely."""
    d = session.d
    if go.route.kind == "hangup":
        session._record_step(route.step("note", "nothing", Outcome("menu_hangup")))
        await session.keypad.play([f"sound:{GOODBYE_SOUND}"])
        await d.ringer.hangup(session.call.channel_id)
        return None
    plan = route_plan(go.route, d.crm.policy(), d.crm.live_queues(), d.crm.menus(), by=f"menu {go.menu.name}",
                      step=lambda outcome: _step(go.menu.name, outcome))
    for s in plan.steps:
        session._record_step(s)
    return replace(plan, steps=[])


def _step(menu_name: str, outcome: Outcome) -> dict:
    return route.step("menu", "menu", outcome, name=menu_name)


def _menu_step(session: "CallSession", menu_name: str, outcome: Outcome) -> None:
    session._record_step(_step(menu_name, outcome))


def _greeting_step(session: "CallSession", prompt: Prompt, outcome: Outcome) -> None:
    session._record_step(route.step("greeting", "greeting", outcome, name=prompt.route_name))


def _since(started: float) -> int:
    return round(time.monotonic() - started)
