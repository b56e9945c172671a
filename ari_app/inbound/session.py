"""One incoming call, from entering the Stasis app to its end, in its own task.

The call's state is an object of ari_app/call_states.py - Routing (lookup and decision) -> Ringing (a
manager's phone rings, the caller hears ringback) and/or Queued (music, members' phones ring) -> Bridged
(talking) -> Ended; Offering when nobody answered (a callback or voicemail, ari_app/inbound/offer.py);
HandedOff when sent to the dialplan's default queue. It changes only by the current state's transitions
(`_go`), and what the caller hears is done by the state entered. Until its first dial or other first step it
holds back the other calls' teardown (ari_app/call_path.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
import zoneinfo

from ari_app.call_states import CallerLine, CallState, HandedOff, Queued, Ringing, Routing
from ari_app.caller_language import caller_language
from ari_app.client import AriError
from ari_app.constants import PURPOSE_INBOUND
from ari_app.deps import SessionDeps
from ari_app.events import ChannelEntered
from ari_app.inbound.call_notes import FirstDial
from ari_app.inbound.follow_me import ring_mobile
from ari_app.inbound.menu import greet_and_walk
from ari_app.inbound.offer import offer
from ari_app.inbound.queue_members import available, reserve
from ari_app.inbound.screen_pops import CallPops
from ari_app.keypad import Keypad
from ari_app.registry import caller_id_text
from ari_app.ringing import Leg, Phone, RingResult
from ari_app.transfers.conversation import Conversation
from ari_app.waiting import first_of as _first
from crm.calls import route
from crm.calls.route import Outcome
from crm.lines.decide import LinePlan, line_plan, route_now
from crm.phones import caller_match_key
from crm.queues.model import QueueSettings
from crm.recordings.policy import should_record
from crm.routing.decide import CallerFacts, Target, decide, resumed_chain

log = logging.getLogger(__name__)

# How long the closed prompt ("I'm sorry. Please try to call later.") takes before the hang-up.
CLOSED_PROMPT_SECONDS = 5.0


class CallSession:
    direction = "incoming"
    caller_user_id: int | None = None
    caller_user_name: str | None = None  # a placed call's: the user whose phone placed it
    _ringing = False  # the call log says phones ring for it (the wallboard)

    def __init__(self, call: ChannelEntered, deps: SessionDeps, *, resumed: bool = False, answered: bool = False):
        self.call = call
        self.d = deps
        self.resumed = resumed
        # The line it came in on (trunk and dialled number, crm/lines/), from the cache: no query per call.
        self.called_line = deps.crm.line(call.line, call.called_number) if call.purpose == PURPOSE_INBOUND else None
        # `answered`: a click-to-call's user picked up before the number is dialled.
        # The language is fixed when the call comes in: the centre's setting changing mid-call changes nothing.
        language = (self.called_line.language if self.called_line is not None and self.called_line.language else
                    caller_language(call.language, deps.crm.centre_language()))
        self.caller_gone = asyncio.Event()
        # The caller's keys and the ends of its prompts, for menus and offers.
        self.keypad = Keypad(deps.media, call.channel_id, language, self.caller_gone)
        self.state: CallState = Routing(CallerLine(call.channel_id, deps.media, language, self.keypad),
                                        answered=answered)
        self._last_queue: QueueSettings | None = None  # the queue the caller waited in last
        self.partner: Leg | None = None
        self.conversation: Conversation | None = None  # from the answer on (ari_app/transfers/)
        self.legs: dict[str, Leg] = {}
        self._pops = CallPops(self)
        self.started = time.monotonic()
        self._subscribed: asyncio.Future | None = None
        self._facts: CallerFacts | None = None
        self._first_dial = FirstDial()

    # ---- events, from the ARI handlers ----

    def channel_gone(self, channel_id: str, cause: int | None) -> None:
        if channel_id == self.call.channel_id:
            self.caller_gone.set()
        else:
            self.d.ringer.leg_gone(channel_id, cause)

    async def _go(self, transition, *args) -> CallState:
        """Take the current state's transition and enter the next state: the only way the state changes."""
        self.state = transition(*args)
        await self.state.enter()
        if not isinstance(self.state, (Ringing, Queued)):  # those at their first dial (_note_first_dial)
            self.d.call_path.routed(self.call.channel_id)  # its first step taken: the others' teardown may go on
        return self.state

    # ---- the call ----

    async def run(self) -> None:
        self.d.registry.add(self.call.channel_id, self)
        self.d.call_path.routing(self.call.channel_id)  # until its first step (_go) or end: ari_app/call_path.py
        try:
            await self._route()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("channel %s: routing failed for %s; handing to the dialplan", self.call.channel_id,
                          self.call.caller_number)
            await self._hand_to_dialplan(Outcome("crm_failed"))
        finally:
            self.d.call_path.routed(self.call.channel_id)
            self._pops.ended()  # the caller hung up, or the dialplan has it: no pop rings for it any more
            # Whatever happened, the phones this call held are free for the others.
            self.d.ringer.release(self.call.channel_id)
            for leg in self.legs.values():
                if leg is not self.partner and not leg.answered.done():
                    await self.d.ringer.hangup(leg.channel_id)
                self.d.registry.remove(leg.channel_id)
            self.d.ringer.forget_legs(self.legs.values())
            self.d.registry.remove(self.call.channel_id)
            self.state = self.state.end()

    async def _route(self) -> None:
        self._first_dial.received = _now()
        key = caller_match_key(self.call.caller_number, self.d.region)
        started = time.perf_counter()
        facts, failure = await self.d.crm.lookup(key)
        self._first_dial.lookup_ms = (time.perf_counter() - started) * 1000
        self._facts = facts
        # ChannelDestroyed, with the hangup cause, reaches only apps subscribed to the channel.
        # Neither that nor the ringback needs the CRM's answer, and the first dial need
        # not wait for them: started here, they run once the dial request is on its way.
        # (Started before the lookup, their HTTP work delayed the lookup's answer.)
        self._subscribed = asyncio.ensure_future(
            self._quietly(self.d.media.watch(self.call.channel_id)))
        assert isinstance(self.state, Routing)  # a new session starts in Routing
        self.state.start_ringback()
        self._log_start(facts)
        if not self.d.crm.loaded:
            await self._hand_to_dialplan(Outcome("crm_not_loaded"))
            return
        plan = self._line_plan()
        if plan is not None:
            for step in plan.steps:
                self._record_step(step)
            if plan.hang_up:
                await self._close_line()
                return
            if plan.greeting is not None or plan.menu is not None:
                # The line's greeting and IVR menu (ari_app/inbound/menu.py) decide the rest.
                plan = await greet_and_walk(self, plan)
                if plan is None:
                    return
            if plan.voicemail:
                await offer(self, "voicemail", None)
                return
        if plan is not None and plan.chain is not None:
            chain = plan.chain
        else:
            chain = decide(facts, self.d.crm.policy(), unknown_reason=failure or "unknown caller")
        if self.resumed:  # taken up after a restart: what rang before it does not ring again from the start
            chain = resumed_chain(chain, (_now() - self.call.started_at).total_seconds())
        log.info("channel %s: %s -> %s", self.call.channel_id, self.call.caller_number,
                 " / ".join(t.describe() for t in chain))
        self._caller_id = caller_id_text(facts.display_name if facts else "", self.call.caller_number)
        for target in chain:
            if self.caller_gone.is_set():
                return
            if target.rings_a_phone:
                winner, queue_id = await self._try_manager_then_mobile(target), None
            else:
                assert target.queue is not None  # decide() gives every queue target its queue
                winner, queue_id = await self._try_queue(target), target.queue.id
            if winner is not None:
                await self._talk(winner, queue_id)
                return
        if not self.caller_gone.is_set():
            await self._offer()

    async def _try_manager_then_mobile(self, target: Target) -> Leg | None:
        """The manager's (or a line's user's) desk phone; with follow me on (crm/dialing/), it rings
        the user's seconds, then the mobile rings through the trunk (ari_app/inbound/follow_me.py)."""
        follow = self.d.crm.dialing().follow_me_of(target.manager.user_id if target.manager else None)
        if follow is None:
            return await self._try_manager(target)
        winner = await self._try_manager(dataclasses.replace(target, ring_seconds=follow.desk_seconds))
        if winner is not None or self.caller_gone.is_set():
            return winner
        return await ring_mobile(self, target, follow)

    async def _try_manager(self, target: Target) -> Leg | None:
        manager, ring_seconds = target.manager, target.ring_seconds
        # decide() gives every manager target its manager, with an extension, and a ring time.
        assert manager is not None and manager.extension is not None and ring_seconds is not None
        phone = Phone(manager.user_id, manager.name, manager.extension)
        problem = await self.d.ringer.endpoint_problem(manager.extension, self.call.channel_id)
        if not problem and not self.d.ringer.try_reserve(self.call.channel_id, [phone]):
            problem = "busy on another call"  # another call took it while we looked
        if problem:
            # The phone states say it in English words ("busy on another call", "unreachable (503)").
            outcome = route.outcome_of_text(f"is {problem}") or Outcome("unreachable_error", {"error": problem})
            self._step(target, outcome)
            return None
        await self._go(self.state.ring)
        self._note_first_dial()
        result = await self._ring([phone], ring_seconds)
        if result.winner:
            self._step(target, Outcome("answered"))
            return result.winner
        if self.caller_gone.is_set():
            self._step(target, Outcome("caller_gone_ringing"))
        else:
            self._step(target, result.legs[0].outcome(ring_seconds))
        self._stop_ringing()  # after the step: the route is written first (a restart may come any time)
        return None

    async def _try_queue(self, target: Target) -> Leg | None:
        assert target.queue is not None
        queue = self.d.crm.queue(target.queue.id)
        if queue is None:
            self._step(target, Outcome("queue_gone"))
            return None
        await self._go(self.state.queue, queue.moh_class)
        if queue.id is not None:
            self.d.records.queued(self.call.channel_id, queue.id)
        self._last_queue = queue
        entered = time.monotonic()
        deadline = entered + queue.max_wait_seconds
        while not self.caller_gone.is_set() and (remaining := deadline - time.monotonic()) > 1:
            freed = self.d.ringer.freed()
            phones = reserve(self.d, self.call.channel_id, queue, await available(self.d, self.call.channel_id, queue))
            if not phones:
                self.d.call_path.routed(self.call.channel_id)  # no phone to dial: nothing to wait for
                self._stop_ringing()
                self._pops.ended()
                # Look again when a phone is given back (or in 2 s: a state may have changed unseen).
                await _first(self.caller_gone.wait(), freed.wait(), asyncio.sleep(min(2.0, remaining)))
                continue
            self._note_first_dial()
            result = await self._ring(phones, max(2, min(queue.ring_seconds, int(remaining))))
            if result.winner:
                waited = time.monotonic() - entered
                self._step(target, Outcome("answered_by", {"name": result.winner.phone.name,
                                                           "seconds": round(waited)}))
                return result.winner
            for leg in result.legs:
                log.info("channel %s: queue %s, %s %s", self.call.channel_id, queue.name, leg.phone.name,
                         leg.outcome(queue.ring_seconds))
        waited = time.monotonic() - entered
        if self.caller_gone.is_set():
            self._step(target, Outcome("caller_gone", {"seconds": round(waited)}))
        else:
            self._step(target, Outcome("nobody_answered", {"seconds": queue.max_wait_seconds}))
        self._stop_ringing()
        if not self.caller_gone.is_set():
            self.d.records.left_queue(self.call.channel_id)
        return None

    async def _ring(self, phones: list[Phone], ring_seconds: int) -> RingResult:
        """Ring these phones for the caller; the users rung are in the call log (the wallboard) until the
        answer or the end clears them, or _stop_ringing (written after the route's step)."""
        users = [p.user_id for p in phones if p.user_id is not None]
        self._pops.ended(keep=users)  # those rung before who do not ring now: the call moved on from them
        if users:
            self.d.records.ringing(self.call.channel_id, users)
            self._ringing = True
        return await self.d.ringer.ring(
            caller_channel=self.call.channel_id, caller_id=self._caller_id, phones=phones,
            ring_seconds=ring_seconds, caller_gone=self.caller_gone, register=self._register_leg)

    def _stop_ringing(self) -> None:
        if self._ringing:
            self._ringing = False
            self.d.records.ringing(self.call.channel_id, [])

    async def _talk(self, partner: Leg, queue_id: int | None, operator_user_id: int | None = None) -> None:
        """Bridge the caller with the phone that answered until one of them hangs up."""
        operator_user_id = partner.phone.user_id if operator_user_id is None else operator_user_id
        self.partner = partner
        caller = self.call.channel_id
        bridge_id = None
        try:
            await self._go(self.state.connect)
            bridge_id = await self.d.media.create_bridge(caller)
            await self.d.media.add_channels(bridge_id, [caller, partner.channel_id])
        except AriError as e:
            # Most often the phone hung up again before the bridge was made: the caller, answered
            # by now, would sit in silence. End the call as when the phone hangs up while talking.
            log.warning("channel %s: could not bridge with %s: %s", caller, partner.phone.name, e)
            await self.d.ringer.hangup(partner.channel_id)
            self.d.ringer.release(caller, [partner.phone])
            if bridge_id is not None:
                await self.d.media.destroy_bridge(bridge_id)
            await self.d.ringer.hangup(caller)
            return
        # Talking until the caller or the last phone hangs up; transfers change self.partner on the way
        # (ari_app/transfers/: from now on another call may take this partner, or ask for a transfer).
        self.conversation = Conversation(self, bridge_id, operator_user_id)
        self.d.records.answered(caller, operator_user_id=operator_user_id, queue_id=queue_id)
        log.info("channel %s: %s talking to %s", caller, self.call.caller_number, partner.phone.name)
        self._pop(operator_user_id, "answered")
        recording = None
        participants = [partner.phone.user_id, self.caller_user_id]
        if self.d.recorder and should_record(self.d.crm.recording_policy(), self.direction, participants):
            recording = await self.d.recorder.start(bridge_id, caller)
        try:
            await self.conversation.run()
        finally:  # a transfer that failed hands the caller to the dialplan: the recording is kept
            if recording and self.d.recorder:
                self.d.recorder.finish(recording, caller)
        # None: given to another call (an attended transfer's consultation), or a transfer nobody took.
        partner = self.partner
        if partner is not None or not isinstance(self.state, HandedOff):  # the dialplan has the caller now
            await self.d.ringer.hangup(partner.channel_id if partner and self.caller_gone.is_set() else caller)
        if partner is not None:
            self.d.ringer.release(caller, [partner.phone])
        await self.d.media.destroy_bridge(bridge_id)
        if self.d.agents is not None and queue_id is not None:  # the agent's wrap-up (issue 18)
            self.d.agents.after_queue_call(operator_user_id, self.d.crm.queue(queue_id))

    async def _offer(self) -> None:
        """Nobody took the call: the last queue's offer (a callback, voicemail) instead of a hang-up."""
        self._pops.ended()
        queue = self._last_queue or self.d.crm.queue(self.d.crm.policy().default_queue.id)
        await offer(self, queue.offer if queue is not None else "both", queue.id if queue is not None else None)

    def _line_plan(self) -> LinePlan | None:
        """The line's route now (its business hours on the call centre's clock), or None: no line."""
        if self.called_line is None:
            return None
        decision = route_now(self.called_line, dt.datetime.now(zoneinfo.ZoneInfo(self.d.timezone)))
        return line_plan(self.called_line, decision, self.d.crm.policy(), self.d.crm.live_queues(),
                         self.d.crm.menus())

    async def _close_line(self) -> None:
        """Out of hours with nowhere to go: the closed prompt, then the app hangs up."""
        await self._go(self.state.close)
        await self._wait_caller_gone(CLOSED_PROMPT_SECONDS)
        await self.d.ringer.hangup(self.call.channel_id)

    async def _hand_to_dialplan(self, why: Outcome) -> None:
        if self.state.final:
            return
        self.state = self.state.hand_off()  # before the request: the StasisEnd it brings is expected
        self._record_step(route.step("queue", "dialplan", why))
        try:
            await self.state.enter()
        except AriError as e:
            log.error("channel %s: could not hand to the dialplan: %s", self.call.channel_id, e)

    async def _quietly(self, request) -> bool:
        return await self.d.media.quietly(self.call.channel_id, request)

    # ---- bookkeeping ----

    def _note_first_dial(self) -> None:
        """How long the CRM held the call before its first phone rang: the number to keep small."""
        self._first_dial.dialled(self.call.channel_id, self.call.entered_at, _now())
        self.d.call_path.routed(self.call.channel_id)

    def _register_leg(self, leg: Leg) -> None:
        self.legs[leg.channel_id] = leg
        self.d.registry.add(leg.channel_id, self)
        self._pop(leg.phone.user_id, "ringing")

    def _pop(self, user_id: int | None, event: str, detail: str = "") -> None:
        """Open the call in this user's browser (H5); `detail`: a transfer's (crm/pops/events.py)."""
        self._pops.pop(user_id, event, detail)

    def _log_start(self, facts: CallerFacts | None) -> None:
        self.d.records.call_started(self.call, direction=self.direction, facts=facts,
                                    caller_user_id=self.caller_user_id,
                                    line_id=self.called_line.id if self.called_line is not None else None)
        if self.resumed:
            self._record_step(route.step("note", "restart", Outcome("resumed")))

    def _step(self, target: Target, outcome: Outcome) -> None:
        # A queue's id too: a stranger's missed call leaves its callback task to the last queue it waited in.
        by = {"by": target.by} if target.by else {}  # a transfer's (ari_app/transfers/)
        step = route.step(target.kind, target.route_code or target.kind, outcome, name=target.name,
                          reason=target.reason, **by)
        if target.kind == "queue" and target.queue is not None and target.queue.id is not None:
            step["queue_id"] = target.queue.id
        self._record_step(step)

    def _record_step(self, step: dict) -> None:
        step["at"] = round(time.monotonic() - self.started, 3)
        self.d.records.step(self.call.channel_id, step)

    async def _wait_caller_gone(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.caller_gone.wait(), seconds)
        except asyncio.TimeoutError:
            pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
