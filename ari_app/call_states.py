"""A call's states, each owning its transitions (after wazo-calld's plugins/calls/state.py).

A transition is a method of the current state, named after the event it accepts;
it returns the next state and is synchronous, so the session's state changes
before anything is awaited (a StasisEnd that comes while the caller is handed to
the dialplan already sees HandedOff). The next state's `enter()` then does what
the caller hears on entering it, through the media adapter (ari_app/media.py).
A state that does not accept an event raises InvalidTransition.

    Routing --ring--> Ringing --queue--> Queued --connect--> Bridged --end--> Ended
       |                 |  \\--connect--> Bridged             ^
       |--queue--> Queued --queue--> Queued                     |
       |--close--> Closed (a line out of hours) --end--> Ended  |
       |--offer--> Offering (from Routing, Ringing, Queued: nobody took the call, or a line's voicemail)
       |             --pressed--> CallbackRequested | RecordingVoicemail | Offering (once more) | OfferDeclined
       |           RecordingVoicemail --recorded--> VoicemailLeft | VoicemailNotKept | VoicemailLost
       \\--hand_off--> HandedOff (from any live state; end keeps it)

    Bridged --transfer--> Transferring --ring/queue--> Transferring --connect--> Bridged (Reconnected)
                               \\--offer--> Offering   (ari_app/transfers/: the caller waits in its bridge)

What the caller hears is the state's data - whether the channel is answered,
music on hold playing, ringback requested - handed from state to state. The
offer's states (ari_app/offer_states.py) play their prompts to the end through the
call's keypad (ari_app/keypad.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ari_app.client import AriError
from ari_app.constants import bridge_id
from ari_app.media import CallMedia
from crm.i18n import FALLBACK_LANGUAGE

if TYPE_CHECKING:
    from ari_app.keypad import Keypad

log = logging.getLogger(__name__)

# A line out of its business hours, with nowhere to send the call: "I'm sorry. Please try to
# call later." Asterisk's core sounds name the second file differently in Russian.
CLOSED_PROMPTS = {"ru": "sound:im-sorry,sound:pls-try-call-later"}
CLOSED_PROMPT = "sound:im-sorry,sound:please-try-call-later"


class InvalidTransition(Exception):
    pass


class CallerLine:
    """The caller's channel, as the states act on it, and the language its prompts are in."""

    def __init__(self, channel_id: str, media: CallMedia, language: str = FALLBACK_LANGUAGE,
                 keypad: "Keypad | None" = None):
        self.channel_id = channel_id
        self.media = media
        self.language = language
        self.keypad = keypad  # plays the offer's prompts to the end, hears the caller's keys

    async def play_to_end(self, sounds: tuple[str, ...]) -> bool:
        """False when the caller hung up meanwhile (or there is no keypad: nothing played)."""
        if self.keypad is None or self.keypad.caller_gone.is_set():
            return False
        return await self.keypad.play(sounds)

    async def quietly(self, request) -> bool:
        return await self.media.quietly(self.channel_id, request)


class CallState:
    name = "?"
    final = False
    # The state, not the caller's hang-up, says whether the call was missed (a voicemail being recorded).
    settles_missed = False

    def __init__(self, line: CallerLine, *, answered: bool = False, music: bool = False,
                 ringback: asyncio.Future | None = None, moh_class: str | None = None):
        self.line = line
        self.answered = answered  # the caller's channel is answered
        self.music = music  # the caller hears music on hold
        self.ringback = ringback  # the ringback request, started without waiting for it
        self.moh_class = moh_class

    def __repr__(self) -> str:
        return f"<{self.name} answered={self.answered} music={self.music}>"

    # ---- the events a state may accept; each returns the next state ----

    def ring(self) -> "CallState":
        return self._refuse("ring")

    def queue(self, moh_class: str) -> "CallState":
        return self._refuse("queue")

    def connect(self) -> "CallState":
        return self._refuse("connect")

    def offer(self, offer: str) -> "CallState":
        """Nobody took the call, or a line routes to voicemail: a callback and/or voicemail is offered
        (`offer`: crm/queues/model.py OFFERS)."""
        return self._refuse("offer")

    def close(self) -> "CallState":
        """A line out of hours whose route is the closed prompt (only before anything rang)."""
        return self._refuse("close")

    def transfer(self) -> "CallState":
        """A transfer of a call being talked on (Bridged only)."""
        return self._refuse("transfer")

    def _offering(self, offer: str) -> "CallState":
        """Into the offer's first state (ari_app/offer_states.py, which builds on this module)."""
        from ari_app.offer_states import Offering

        return Offering.made(self, offer)

    def hand_off(self) -> "CallState":
        """To the dialplan's default queue: accepted by every live state (the session's last resort)."""
        if self.final:
            return self._refuse("hand_off")
        return self._to(HandedOff)

    def end(self) -> "CallState":
        return self._to(Ended)

    async def enter(self) -> None:
        """What the caller hears on entering this state."""

    # ---- helpers ----

    def _to(self, cls: type["CallState"], *, moh_class: str | None = None) -> "CallState":
        """The next state, with what the caller hears now."""
        return cls(self.line, answered=self.answered, music=self.music, ringback=self.ringback,
                   moh_class=moh_class or self.moh_class)

    def _refuse(self, event: str) -> "CallState":
        raise InvalidTransition(f"channel {self.line.channel_id}: {event} in state {self.name}")

    def _ring_back(self) -> None:
        """The caller hears ringing; not awaited, so a phone can be dialled meanwhile."""
        if not self.answered and self.ringback is None:
            self.ringback = asyncio.ensure_future(self.line.quietly(self.line.media.ring(self.line.channel_id)))

    async def _end_ringback(self) -> None:
        if self.ringback is not None:
            if await self.ringback:
                await self.line.quietly(self.line.media.ring_stop(self.line.channel_id))
            self.ringback = None

    async def _stop_holding(self) -> None:
        if self.music:
            await self.line.quietly(self.line.media.stop_moh(self.line.channel_id))
            self.music = False
        await self._end_ringback()


class Routing(CallState):
    """Looking the caller up and deciding; the caller hears ringback once it is started."""

    name = "routing"

    def start_ringback(self) -> None:
        self._ring_back()

    def ring(self) -> CallState:
        return self._to(Ringing)

    def queue(self, moh_class: str) -> CallState:
        return self._to(Queued, moh_class=moh_class)

    def offer(self, offer: str) -> CallState:
        return self._offering(offer)

    def close(self) -> CallState:
        return self._to(Closed)


class Ringing(CallState):
    """A phone rings for the call (a manager's, or the number a user dialled); the caller hears ringback."""

    name = "ringing"

    async def enter(self) -> None:
        self._ring_back()

    def queue(self, moh_class: str) -> CallState:
        return self._to(Queued, moh_class=moh_class)

    def connect(self) -> CallState:
        return self._to(Bridged)

    def offer(self, offer: str) -> CallState:
        return self._offering(offer)


class Queued(CallState):
    """Waiting in a queue: answered, hearing music, while the members' phones ring."""

    name = "queued"

    async def enter(self) -> None:
        await self._end_ringback()
        if not self.answered:
            self.answered = await self.line.quietly(self.line.media.answer(self.line.channel_id))
        if not self.music and self.moh_class is not None:
            self.music = await self.line.quietly(self.line.media.start_moh(self.line.channel_id, self.moh_class))

    def queue(self, moh_class: str) -> CallState:
        return self._to(Queued)  # the next queue: the music already playing goes on

    def connect(self) -> CallState:
        return self._to(Bridged)

    def offer(self, offer: str) -> CallState:
        return self._offering(offer)


class Bridged(CallState):
    """Talking to the phone that answered. enter() raises AriError when the caller cannot be answered."""

    name = "bridged"

    async def enter(self) -> None:
        await self._stop_holding()
        if not self.answered:
            await self.line.media.answer(self.line.channel_id)
            self.answered = True

    def transfer(self) -> CallState:
        """The phone's user (or the web) transfers the call: the caller stays in the bridge."""
        return self._to(Transferring)


class Transferring(CallState):
    """The call is being transferred: the caller waits in the call's bridge with music played to
    the bridge (its one recording goes on through the wait) while the transfer's targets ring."""

    name = "transferring"
    holding = False  # the bridge's music is on

    async def enter(self) -> None:
        if not self.holding:
            music = self.line.media.start_bridge_moh(bridge_id(self.line.channel_id), self.moh_class or "default")
            self.holding = await self.line.quietly(music)

    def ring(self) -> CallState:
        return self  # the music goes on while a phone rings

    def queue(self, moh_class: str) -> CallState:
        return self

    def connect(self) -> CallState:
        return self._to(Reconnected)

    def offer(self, offer: str) -> CallState:
        """Nobody took the transfer: the offer (a callback, voicemail), out of the bridge."""
        return self._offering(offer)

    async def stop_holding(self) -> None:
        if self.holding:
            await self.line.quietly(self.line.media.stop_bridge_moh(bridge_id(self.line.channel_id)))
            self.holding = False


class Reconnected(Bridged):
    """Talking again after a transfer: the bridge's music stops as the new phone joins."""

    async def enter(self) -> None:
        await self.line.quietly(self.line.media.stop_bridge_moh(bridge_id(self.line.channel_id)))
        await super().enter()


class Closed(CallState):
    """The line is closed and its after-hours route is to hang up: the caller hears so first."""

    name = "closed"

    def prompt(self) -> str:
        return CLOSED_PROMPTS.get(self.line.language, CLOSED_PROMPT)

    async def enter(self) -> None:
        await self._stop_holding()
        try:
            if not self.answered:
                await self.line.media.answer(self.line.channel_id)
            await self.line.media.play(self.line.channel_id, self.prompt(), self.line.language)
        except AriError as e:  # the caller may be gone already
            log.info("channel %s: %s", self.line.channel_id, e)


class HandedOff(CallState):
    """Sent to the dialplan's default queue: the app has no part in the call any more."""

    name = "handed off"
    final = True

    async def enter(self) -> None:
        await self._stop_holding()
        await self.line.media.to_dialplan_fallback(self.line.channel_id)

    def end(self) -> CallState:
        return self


class Ended(CallState):
    name = "ended"
    final = True

    def end(self) -> CallState:
        return self
