"""The offer instead of a hang-up (issue 15): the states of a caller nobody took, or whose line
or menu routes to voicemail (ari_app/call_states.py's `offer` transition leads here).

    Offering --pressed--> CallbackRequested | RecordingVoicemail | Offering (once more) | OfferDeclined
    RecordingVoicemail --recorded--> VoicemailLeft | VoicemailNotKept | VoicemailLost

Each owns its transitions and what the caller hears on entering it; the session's side -
asking for the key, recording, writing the route - is ari_app/inbound/offer.py.
"""

from __future__ import annotations

import logging

from ari_app.call_states import CallState
from ari_app.client import AriError
from crm.voicemails.model import offers_callback, offers_voicemail

log = logging.getLogger(__name__)

# Asterisk's core sounds, in English and Russian both. None of them says "press 1 to be called
# back": "press 1 to call this number" (vm-tocallnum) is the nearest.
NOBODY_AVAILABLE = "sound:vm-nobodyavail"  # Nobody is available to take your call at the moment.
PRESS_1_FOR_CALLBACK = "sound:vm-tocallnum"  # Press 1 to call this number.
LEAVE_A_MESSAGE = "sound:vm-intro"  # Please leave your message after the tone. When done, hang up or press #.
THANK_YOU = "sound:auth-thankyou"
MESSAGE_SAVED = "sound:vm-msgsaved"
TOO_SHORT = "sound:vm-tooshort"  # Your message is too short.
GOODBYE = "sound:vm-goodbye"
CALLBACK_KEY = "1"


class Offering(CallState):
    """The caller hears the offer: "press 1" for a callback, and/or voicemail after the prompt.
    enter() stops the music or ringback and answers; the session plays prompt() and asks for the
    key when the offer has a callback (asks), then takes `pressed`."""

    name = "offering"
    offered = "both"  # crm/queues/model.py OFFERS
    attempt = 1  # a callback-only offer is made twice before the goodbye

    @classmethod
    def made(cls, before: CallState, offer: str, attempt: int = 1) -> "Offering":
        state = before._to(cls)
        assert isinstance(state, Offering)
        state.offered, state.attempt = offer, attempt
        return state

    @property
    def asks(self) -> bool:
        return offers_callback(self.offered)

    @property
    def wait_seconds(self) -> float:
        """How long a key is waited for after the prompt: short when voicemail follows."""
        return 3.0 if offers_voicemail(self.offered) else 6.0

    def prompt(self) -> tuple[str, ...]:
        first = (NOBODY_AVAILABLE,) if self.attempt == 1 else ()
        return first + ((PRESS_1_FOR_CALLBACK,) if self.asks else ())

    async def enter(self) -> None:
        await self._stop_holding()
        if not self.answered:
            try:
                await self.line.media.answer(self.line.channel_id)
                self.answered = True
            except AriError as e:  # the caller may be gone already
                log.info("channel %s: %s", self.line.channel_id, e)

    def pressed(self, keys: str | None) -> CallState:
        """What the caller pressed (None: nothing in time)."""
        if keys == CALLBACK_KEY and self.asks:
            return self._to(CallbackRequested)
        if offers_voicemail(self.offered):
            return self._to(RecordingVoicemail)
        if self.attempt < 2:
            return Offering.made(self, self.offered, self.attempt + 1)
        return self._to(OfferDeclined)


class Farewell(CallState):
    """The caller hears a last prompt to its end; then the app hangs up."""

    sounds: tuple[str, ...] = (GOODBYE,)

    async def enter(self) -> None:
        await self.line.play_to_end(self.sounds)


class CallbackRequested(Farewell):
    name = "callback requested"
    sounds = (THANK_YOU, GOODBYE)


class OfferDeclined(Farewell):
    name = "offer declined"


class RecordingVoicemail(CallState):
    """The caller hears how to leave a message, then the beep; the session records the channel."""

    name = "recording voicemail"
    settles_missed = True

    async def enter(self) -> None:
        await self.line.play_to_end((LEAVE_A_MESSAGE,))

    def recorded(self, outcome: str) -> CallState:
        """What came of the message (crm/voicemails/model.py verdict, or voicemail_lost)."""
        if outcome == "voicemail_left":
            return self._to(VoicemailLeft)
        return self._to(VoicemailLost if outcome == "voicemail_lost" else VoicemailNotKept)


class VoicemailLeft(Farewell):
    name = "voicemail left"
    sounds = (MESSAGE_SAVED, GOODBYE)


class VoicemailNotKept(Farewell):
    """Too short, or silent."""

    name = "voicemail not kept"
    sounds = (TOO_SHORT, GOODBYE)


class VoicemailLost(Farewell):
    """Asterisk failed to record or store it: nothing the caller did."""

    name = "voicemail lost"
