"""The call's states (ari_app/call_states.py) on their own: which events each accepts, what the
caller hears on entering it, and that the data (answered, music, ringback) goes from state to state."""

from __future__ import annotations

import asyncio

import pytest

from ari_app.call_states import (
    Bridged,
    CallerLine,
    CallState,
    Ended,
    GivingUp,
    HandedOff,
    InvalidTransition,
    Queued,
    Ringing,
    Routing,
)
from ari_app.client import AriError
from ari_app.media import CallMedia


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
STATES = (Routing, Ringing, Queued, Bridged, GivingUp, HandedOff, Ended)
EVENTS = {"ring": (), "queue": ("default",), "connect": (), "give_up": (), "hand_off": (), "end": ()}
TRANSITIONS: dict[type[CallState], dict[str, type[CallState] | None]] = {
    Routing: {"ring": Ringing, "queue": Queued, "connect": None, "give_up": GivingUp, "hand_off": HandedOff,
              "end": Ended},
    Ringing: {"ring": None, "queue": Queued, "connect": Bridged, "give_up": GivingUp, "hand_off": HandedOff,
              "end": Ended},
    Queued: {"ring": None, "queue": Queued, "connect": Bridged, "give_up": GivingUp, "hand_off": HandedOff,
             "end": Ended},
    Bridged: {"ring": None, "queue": None, "connect": None, "give_up": None, "hand_off": HandedOff, "end": Ended},
    GivingUp: {"ring": None, "queue": None, "connect": None, "give_up": None, "hand_off": HandedOff, "end": Ended},
    HandedOff: {"ring": None, "queue": None, "connect": None, "give_up": None, "hand_off": None, "end": HandedOff},
    Ended: {"ring": None, "queue": None, "connect": None, "give_up": None, "hand_off": None, "end": Ended},
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


async def test_nobody_answering_a_ringing_phone_stops_the_ringback_and_gives_up():
    ari = Ari()
    state = _routing(ari).ring()
    await state.enter()
    state = state.give_up()
    await state.enter()
    assert isinstance(state, GivingUp) and state.ringback is None
    assert ari.requests == ["ring", "ring_stop", "answer", "play"]


async def test_giving_up_on_an_answered_caller_only_plays_the_prompt():
    ari = Ari()
    state = GivingUp(CallerLine("caller-1", CallMedia(ari)), answered=True)
    await state.enter()
    assert ari.requests == ["play"]


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


async def test_giving_up_answers_and_plays_the_prompt_even_when_the_caller_is_gone():
    ari = Ari()
    state = _routing(ari).give_up()
    await state.enter()
    assert isinstance(state, GivingUp) and ari.requests == ["answer", "play"]
    gone = Ari(fail={"answer"})
    await _routing(gone).give_up().enter()  # no exception: the caller hung up meanwhile
    assert gone.requests == ["answer"]

