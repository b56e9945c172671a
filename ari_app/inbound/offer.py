"""The offer instead of a hang-up (issue 15): a caller nobody took - a queue's longest wait
passed - or whose line routes to voicemail hears "press 1 to be called back" and/or how to
leave a message. The states (ari_app/offer_states.py: Offering, CallbackRequested,
RecordingVoicemail, ...) decide what comes next and what the caller hears; this asks for the
key (ari_app/keypad.py), records the message (ari_app/recording/voicemail.py), writes the
route and the request, and hangs up politely at the end.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ari_app.client import AriError
from ari_app.offer_states import CallbackRequested, OfferDeclined, Offering, RecordingVoicemail
from crm.calls import route
from crm.calls.route import Outcome

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)


async def offer(session: CallSession, offer: str, queue_id: int | None) -> None:
    """Offer `offer` (crm/queues/model.py OFFERS); `queue_id`: the queue whose wait passed (None: a
    line's voicemail route), whose members call an unknown caller back."""
    s, channel = session, session.call.channel_id
    s.keypad.clear()  # keys pressed while waiting in the queue answer nothing
    await s._go(s.state.offer, offer)
    while isinstance(s.state, Offering):
        state = s.state
        if state.asks:
            keys = await s.keypad.ask(state.prompt(), timeout=state.wait_seconds)
        else:
            await s.keypad.play(state.prompt())
            keys = None
        if s.caller_gone.is_set():
            _note(s, Outcome("caller_gone_offer"))
            return
        # The state changes before the caller hears its prompt: the request stands if they hang up.
        s.state = state.pressed(keys)
        if isinstance(s.state, CallbackRequested):
            log.info("channel %s: %s asked to be called back", channel, s.call.caller_number)
            _note(s, Outcome("callback_requested"))
            s.d.records.callback_requested(channel, queue_id=queue_id)
        elif isinstance(s.state, OfferDeclined):
            _note(s, Outcome("callback_not_requested"))
        await s.state.enter()
    if isinstance(s.state, RecordingVoicemail):
        if not await _voicemail(s, queue_id):
            return  # handed to the default queue
    if not s.caller_gone.is_set():
        await s.d.ringer.hangup(channel)


async def _voicemail(s: CallSession, queue_id: int | None) -> bool:
    """Record and judge the caller's message; False when the call went to the default queue instead."""
    channel = s.call.channel_id
    assert isinstance(s.state, RecordingVoicemail)
    if s.caller_gone.is_set():  # during the instructions
        _note(s, Outcome("caller_gone_offer"))
        s.d.records.missed(channel)  # the state kept the hang-up from saying so
        return True
    if s.d.voicemail is None:
        await s._hand_to_dialplan(Outcome("voicemail_failed", {"error": "no recorder"}))
        return False
    try:
        message = await s.d.voicemail.record(channel, s.caller_gone)
    except AriError as e:
        log.error("channel %s: voicemail not recorded for %s: %s", channel, s.call.caller_number, e)
        await s._hand_to_dialplan(Outcome("voicemail_failed", {"error": str(e)}))
        return False
    _note(s, message.outcome)
    if message.kept:
        s.d.records.caller_left(channel, "voicemail")  # before the end's write: not a plain missed call
        s.d.voicemail.keep(message, channel, queue_id=queue_id)
    else:
        s.d.records.missed(channel)
    s.state = s.state.recorded(message.outcome.code)
    await s.state.enter()
    return True


def _note(s: CallSession, outcome: Outcome) -> None:
    s._record_step(route.step("note", "nothing", outcome))
