"""The call's states (ari_app/call_states.py) on their own: which events each accepts, what the
caller hears on entering it, and that the data (answered, music, ringback) goes from state to state."""

from __future__ import annotations

import asyncio

import pytest

from ari_app.call_states import (
    Bridged,
    CallerLine,
    CallState,
    Closed,
    Ended,
    HandedOff,
    InvalidTransition,
    Queued,
    Ringing,
    Routing,
)
from ari_app.client import AriError
from ari_app.media import CallMedia
from ari_app.offer_states import (
    CallbackRequested,
    OfferDeclined,
    Offering,
    RecordingVoicemail,
    VoicemailLeft,
    VoicemailLost,
    VoicemailNotKept,
)


class Ari:
    """Records the requests the states make of the media adapter."""

    def __init__(self, fail: set[str] = frozenset()):
        self.requests: list[str] = []
        self._fail = fail

    def __getattr__(self, name):
        async def request(*args, **kwargs):
            self.requests.append(name)
            if name in self._fail:
                raise AriError("POST", f"/{name}", 409, "refused")
        return request


def _routing(ari: Ari, **kw) -> Routing:
    return Routing(CallerLine("caller-1", CallMedia(ari)), **kw)


async def test_an_inbound_call_rings_a_manager_then_queues_then_is_bridged_and_ends():
    ari = Ari()
    state = _routing(ari)
    state.start_ringback()
    state = state.ring()
    await state.enter()
    assert isinstance(state, Ringing)
    await asyncio.sleep(0)
    assert ari.requests == ["ring"]  # once: the ringback started while routing goes on
    state = state.queue("default")
    await state.enter()
    assert isinstance(state, Queued) and state.answered and state.music and state.ringback is None
    assert ari.requests == ["ring", "ring_stop", "answer", "start_moh"]
    state = state.queue("other")  # the next queue: the music goes on
    await state.enter()
    assert ari.requests == ["ring", "ring_stop", "answer", "start_moh"]
    state = state.connect()
    await state.enter()
    assert isinstance(state, Bridged) and not state.music
    assert ari.requests[-1] == "stop_moh"
    assert isinstance(state.end(), Ended)


# Every state's answer to every event, as ari_app/call_states.py defines them: the next state's
# class, or None when the state refuses the event (InvalidTransition).
STATES = (Routing, Ringing, Queued, Bridged, Offering, RecordingVoicemail, CallbackRequested, Closed, HandedOff,
          Ended)
EVENTS = {"ring": (), "queue": ("default",), "connect": (), "offer": ("both",), "hand_off": (), "end": ()}
TRANSITIONS: dict[type[CallState], dict[str, type[CallState] | None]] = {
    Routing: {"ring": Ringing, "queue": Queued, "connect": None, "offer": Offering, "hand_off": HandedOff,
              "end": Ended},
    Ringing: {"ring": None, "queue": Queued, "connect": Bridged, "offer": Offering, "hand_off": HandedOff,
              "end": Ended},
    Queued: {"ring": None, "queue": Queued, "connect": Bridged, "offer": Offering, "hand_off": HandedOff,
             "end": Ended},
    Bridged: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": HandedOff, "end": Ended},
    # Nobody took the call: the offer's states take no call event but the hand-off and the end.
    Offering: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": HandedOff, "end": Ended},
    RecordingVoicemail: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": HandedOff,
                         "end": Ended},
    CallbackRequested: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": HandedOff,
                        "end": Ended},
    Closed: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": HandedOff, "end": Ended},
    HandedOff: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": None, "end": HandedOff},
    Ended: {"ring": None, "queue": None, "connect": None, "offer": None, "hand_off": None, "end": Ended},
}


def test_the_table_names_every_state_and_every_event():
    assert set(TRANSITIONS) == set(STATES)
    assert all(set(events) == set(EVENTS) for events in TRANSITIONS.values())


@pytest.mark.parametrize("event", list(EVENTS))
@pytest.mark.parametrize("state_class", STATES, ids=lambda cls: cls.__name__)
def test_each_state_takes_the_transitions_it_accepts_and_refuses_the_others(state_class, event):
    state = state_class(CallerLine("caller-1", CallMedia(Ari())), answered=True, music=True, moh_class="default")
    expected = TRANSITIONS[state_class][event]
    if expected is None:
        with pytest.raises(InvalidTransition):
            getattr(state, event)(*EVENTS[event])
        return
    after = getattr(state, event)(*EVENTS[event])
    assert type(after) is expected
    # What the caller hears goes from state to state.
    assert after.line is state.line and after.answered and after.music and after.moh_class == "default"


async def test_a_final_state_ends_as_itself():
    for final in (HandedOff, Ended):
        state = final(CallerLine("caller-1", CallMedia(Ari())))
        assert state.end() is state


async def test_a_caller_hanging_up_while_routing_ends_the_call_with_nothing_asked_of_asterisk():
    ari = Ari()
    state = _routing(ari).end()
    await state.enter()
    assert isinstance(state, Ended) and ari.requests == []


async def test_nobody_answering_a_ringing_phone_stops_the_ringback_and_answers_for_the_offer():
    ari = Ari()
    state = _routing(ari).ring()
    await state.enter()
    state = state.offer("callback")
    await state.enter()
    assert isinstance(state, Offering) and state.ringback is None and state.answered
    assert ari.requests == ["ring", "ring_stop", "answer"], "the offer's prompt is the session's to ask"


async def test_an_offer_from_the_queue_stops_the_music():
    ari = Ari()
    state = _routing(ari).queue("default")
    await state.enter()
    state = state.offer("both")
    await state.enter()
    assert isinstance(state, Offering) and not state.music
    assert ari.requests == ["answer", "start_moh", "stop_moh"]


async def test_a_queue_whose_answer_is_refused_still_plays_music_and_stays_unanswered():
    ari = Ari(fail={"answer"})
    state = _routing(ari).queue("default")
    await state.enter()
    assert isinstance(state, Queued) and not state.answered and state.music
    assert ari.requests == ["answer", "start_moh"]


async def test_a_ringing_call_handed_off_stops_the_ringback_and_goes_to_the_dialplan():
    ari = Ari()
    state = _routing(ari).ring()
    await state.enter()
    state = state.hand_off()
    await state.enter()
    assert isinstance(state, HandedOff) and state.ringback is None
    assert ari.requests == ["ring", "ring_stop", "continue_in_dialplan"]


async def test_any_live_state_hands_off_to_the_dialplan_and_stays_handed_off():
    ari = Ari()
    for state in (_routing(ari), _routing(ari).ring(), _routing(ari).queue("x"), _routing(ari).ring().connect()):
        handed = state.hand_off()
        assert isinstance(handed, HandedOff) and handed.end() is handed
    handed = _routing(ari).queue("default")
    await handed.enter()
    handed = handed.hand_off()
    await handed.enter()
    assert ari.requests[-2:] == ["stop_moh", "continue_in_dialplan"]


async def test_an_answered_caller_hears_no_ringback_and_a_failed_answer_stops_the_bridge():
    ari = Ari()
    state = _routing(ari, answered=True)  # click-to-call: the user's phone picked up first
    state.start_ringback()
    state = state.ring()
    await state.enter()
    await asyncio.sleep(0)
    assert ari.requests == [] and state.answered
    refusing = Ari(fail={"answer"})
    bridged = _routing(refusing).ring().connect()
    with pytest.raises(AriError):
        await bridged.enter()


async def test_the_closed_prompt_answers_and_plays_even_when_the_caller_is_gone():
    ari = Ari()
    state = _routing(ari).close()
    await state.enter()
    assert isinstance(state, Closed) and ari.requests == ["answer", "play"]
    gone = Ari(fail={"answer"})
    await _routing(gone).close().enter()  # no exception: the caller hung up meanwhile
    assert gone.requests == ["answer"]


# What the caller's key leads to, by what the queue offers: (offer, key) -> the next state.
PRESSED = {
    ("callback", "1"): CallbackRequested, ("callback", None): Offering, ("callback", "5"): Offering,
    ("both", "1"): CallbackRequested, ("both", None): RecordingVoicemail, ("both", "#"): RecordingVoicemail,
    ("voicemail", None): RecordingVoicemail, ("voicemail", "1"): RecordingVoicemail,
}


@pytest.mark.parametrize(("offer", "key"), list(PRESSED))
def test_the_callers_key_decides_what_comes_of_the_offer(offer, key):
    state = _routing(Ari()).queue("default").offer(offer)
    assert isinstance(state, Offering)
    after = state.pressed(key)
    assert type(after) is PRESSED[(offer, key)]


def test_a_callback_only_offer_is_made_twice_then_the_caller_hears_goodbye():
    first = _routing(Ari()).offer("callback")
    assert isinstance(first, Offering)
    assert first.asks and first.prompt() == ("sound:vm-nobodyavail", "sound:vm-tocallnum")
    second = first.pressed(None)
    assert isinstance(second, Offering) and second.prompt() == ("sound:vm-tocallnum",)
    assert second.pressed("1").__class__ is CallbackRequested
    assert isinstance(second.pressed(None), OfferDeclined)


def test_a_voicemail_offer_asks_for_no_key_and_the_recording_decides_the_farewell():
    state = _routing(Ari()).offer("voicemail")
    assert isinstance(state, Offering)
    assert not state.asks and state.prompt() == ("sound:vm-nobodyavail",)
    recording = state.pressed(None)
    assert isinstance(recording, RecordingVoicemail) and recording.settles_missed
    assert isinstance(recording.recorded("voicemail_left"), VoicemailLeft)
    assert isinstance(recording.recorded("voicemail_too_short"), VoicemailNotKept)
    assert isinstance(recording.recorded("voicemail_silent"), VoicemailNotKept)
    assert isinstance(recording.recorded("voicemail_lost"), VoicemailLost)
    assert VoicemailLeft.sounds == ("sound:vm-msgsaved", "sound:vm-goodbye")
    assert VoicemailLost.sounds == ("sound:vm-goodbye",), "no 'too short' for what Asterisk lost"
    assert not recording.recorded("voicemail_left").settles_missed


class Keys:
    """A keypad that plays at once and says whether the caller is still there."""

    def __init__(self, gone: bool = False):
        self.played: list[tuple[str, ...]] = []
        self.caller_gone = asyncio.Event()
        if gone:
            self.caller_gone.set()

    async def play(self, sounds):
        self.played.append(tuple(sounds))
        return True


async def test_a_farewell_plays_to_the_end_through_the_keypad_unless_the_caller_is_gone():
    keys = Keys()
    line = CallerLine("caller-1", CallMedia(Ari()), keypad=keys)
    await CallbackRequested(line, answered=True).enter()
    await RecordingVoicemail(line, answered=True).enter()
    assert keys.played == [("sound:auth-thankyou", "sound:vm-goodbye"), ("sound:vm-intro",)]
    gone = Keys(gone=True)
    await OfferDeclined(CallerLine("caller-1", CallMedia(Ari()), keypad=gone)).enter()
    assert gone.played == []
