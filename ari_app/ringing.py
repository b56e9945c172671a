"""Ringing phones for a call: one attempt rings one or more extensions at once;
the first to answer wins and the others stop ringing.

A rung phone's answer and hangup are resolved here, where the ringing is: the
call service hands a leg's events straight to `answered` and `leg_gone`, and the
`ring` that waits for them returns to the call's state machine."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from ari_app.client import AriError
from ari_app.constants import leg_channel_id
from ari_app.media import CallMedia
from ari_app.phone_states import PhoneStates
from crm.calls.route import Outcome
from crm.dialing.technology import dials

log = logging.getLogger(__name__)

BUSY_CAUSES = {17}
REJECTED_CAUSES = {21}
NO_ANSWER_CAUSES = {0, 16, 18, 19}


@dataclass(frozen=True)
class Phone:
    user_id: int | None
    name: str
    extension: str
    # Where to dial a number that is no user's phone, e.g. PJSIP/74951234567@trunk; None: the
    # phone of `extension`, rung where its user's dial string says (Ringer.endpoint).
    dial: str | None = None


@dataclass
class Leg:
    """One ringing phone: the channel we originated to it."""

    channel_id: str
    phone: Phone
    started: float = field(default_factory=time.monotonic)
    answered: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    cause: int | None = None
    error: str | None = None
    # Set when the channel is gone (hung up, or never came up): also after it answered.
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    def outcome(self, ring_seconds: int) -> Outcome:
        """Why this phone did not take the call, for the route (its words: crm/calls/route.py)."""
        if self.error:
            return Outcome("not_reached", {"error": self.error})
        if self.cause in BUSY_CAUSES:
            return Outcome("busy")
        if self.cause in REJECTED_CAUSES:
            return Outcome("rejected")
        if self.cause in NO_ANSWER_CAUSES or self.cause is None:
            return Outcome("no_answer", {"seconds": ring_seconds})
        return Outcome("unreachable_cause", {"cause": self.cause})


@dataclass
class RingResult:
    winner: Leg | None
    legs: list[Leg]


class Ringer:
    def __init__(self, media: CallMedia, phone_states: PhoneStates):
        self._media = media
        self._phones = phone_states
        self._legs: dict[str, Leg] = {}  # the legs of calls still going on, by channel id

    def endpoint(self, phone: Phone) -> str:
        """Where to ring this phone: its own dial, or its extension's user's (PJSIP/102, SIP/1001...)."""
        return phone.dial or self._phones.where_to_ring(phone.extension)

    def where_to_ring(self, extension: str) -> str:
        return self._phones.where_to_ring(extension)

    def answered(self, channel_id: str) -> bool:
        """A phone we rang picked up (it entered the app as 'dialed'); False when it is too late for it."""
        leg = self._legs.get(channel_id)
        if leg is None or leg.answered.done():
            return False
        leg.answered.set_result(True)
        return True

    def leg_gone(self, channel_id: str, cause: int | None) -> None:
        """A phone we rang left the app or hung up (cause None: not known yet)."""
        leg = self._legs.get(channel_id)
        if leg is None:
            return
        leg.cause = leg.cause if cause is None else cause
        if not leg.answered.done():
            leg.answered.set_result(False)
        leg.gone.set()

    def forget_legs(self, legs) -> None:
        """The call is over: its legs' late events are nobody's."""
        for leg in legs:
            self._legs.pop(leg.channel_id, None)

    async def endpoint_problem(self, extension: str, owner: str | None = None) -> str | None:
        """'busy on another call' or 'unreachable' when the phone cannot take a call now, else None
        (a phone another call has reserved is busy; `owner`'s own reservation is not)."""
        return await self._phones.problem(extension, owner)

    def try_reserve(self, owner: str, phones: list[Phone], limit: int | None = None) -> list[Phone]:
        """Reserve those of `phones` that are free for the call `owner` (its caller's channel id), at
        most `limit`, in order; the phones reserved. No await: nothing runs between check and hold."""
        by_extension = {p.extension: p for p in phones if p.dial is None}
        got = set(self._phones.try_reserve(owner, list(by_extension), limit))
        return [p for p in phones if p.dial is None and p.extension in got]

    def take_over(self, owner: str, leg: Leg) -> None:
        """A leg answered for another call is this call's now (an attended transfer): its phone is
        held for `owner`, whatever it held before, and its late events come here as before."""
        self._legs[leg.channel_id] = leg
        if leg.phone.dial is None:
            self._phones.hold(owner, leg.phone.extension)

    def freed(self) -> asyncio.Event:
        """Set the next time a phone may have become free (released, or its device is free again)."""
        return self._phones.freed()

    def release_missing(self, live_channels: set[str], before) -> list[str]:
        """After a reconnect: free the phones held by calls Asterisk no longer has."""
        return self._phones.release_missing(live_channels, before)

    def release(self, owner: str, phones: list[Phone] | None = None) -> None:
        """The call `owner` no longer rings or talks to these phones (None: to any)."""
        self._phones.release(owner, None if phones is None else [p.extension for p in phones if p.dial is None])

    async def ring(self, *, caller_channel: str, caller_id: str, phones: list[Phone], ring_seconds: int,
                   caller_gone: asyncio.Event, register) -> RingResult:
        """Ring every phone; wait for the first answer, the ring time, or the caller hanging up.

        `register(leg)` lets the session route the legs' events here before they can arrive.
        """
        legs = []
        for phone in phones:
            if phone.dial is None:
                self._phones.dialled(phone.extension)
            # A user whose desk and browser phones both ring (issue 19) has a leg on each, one Phone:
            # the first to answer is that user's answer, like a ring group's.
            for endpoint in dials(self.endpoint(phone)):
                legs.append(await self._ring_one(phone, endpoint, caller_channel=caller_channel, caller_id=caller_id,
                                                 ring_seconds=ring_seconds, register=register))
        pending = {leg.answered for leg in legs if not leg.answered.done()}
        gone = asyncio.ensure_future(caller_gone.wait())
        deadline = time.monotonic() + ring_seconds + 3
        # A phone may have answered while the others were still being dialled: it wins at once.
        winner = _first_answered(legs)
        try:
            while pending and winner is None and not caller_gone.is_set():
                done, pending = await asyncio.wait(pending | {gone}, timeout=max(0, deadline - time.monotonic()),
                                                   return_when=asyncio.FIRST_COMPLETED)
                pending.discard(gone)
                if not done:
                    break
                winner = _first_answered(legs)
        finally:
            gone.cancel()
        # The others' hangups at once, not one after another: the caller waits for them to be bridged.
        await asyncio.gather(*(self.hangup(leg.channel_id) for leg in legs
                               if leg is not winner and not (leg.answered.done() and not leg.answered.result())))
        for leg in legs:
            # The winner's other phone (the desk's, when the browser answered) is the winner's user's: held.
            if leg is not winner and leg.phone.dial is None and not (winner and winner.phone == leg.phone):
                # Its "free again" event may come after our next look (a queue's next round): ask then.
                self._phones.forget(leg.phone.extension)
                # Hung up (or never rung): free for the next call. The winner's stays held until the call ends.
                self._phones.release(caller_channel, [leg.phone.extension])
        return RingResult(winner, legs)

    async def _ring_one(self, phone: Phone, endpoint: str, *, caller_channel: str, caller_id: str,
                        ring_seconds: int, register) -> Leg:
        # Random, not a counter: a restarted app must not reuse a leg id still ringing.
        leg = Leg(channel_id=leg_channel_id(caller_channel, secrets.token_hex(4)), phone=phone)
        self._legs[leg.channel_id] = leg
        register(leg)
        try:
            # A user's PJSIP phone may transfer the call from its keys (REFER): the app does it.
            await self._media.originate_leg(endpoint=endpoint, leg_channel_id=leg.channel_id,
                                            caller_channel=caller_channel, caller_id=caller_id,
                                            timeout=ring_seconds,
                                            transfers_to_app=phone.dial is None and endpoint.startswith("PJSIP/"))
        except AriError as e:
            if phone.dial is None:
                self._phones.forget(phone.extension)
            leg.error = str(e.status or "no answer")
            leg.answered.set_result(False)
            leg.gone.set()
        return leg

    async def hangup(self, channel_id: str) -> None:
        await self._media.hangup(channel_id)


def _first_answered(legs: list[Leg]) -> Leg | None:
    return next((leg for leg in legs if leg.answered.done() and leg.answered.result()), None)
