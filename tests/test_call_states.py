"""The call's states (ari_app/call_states.py) on their own: which events each accepts, what the
caller hears on entering it, and that the data (answered, music, ringback) goes from state to state."""

from __future__ import annotations

import asyncio

import pytest

from ari_app.call_states import (
    Bridged,
    CallerLine,
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


async def test_each_state_refuses_the_events_it_does_not_accept():
    ari = Ari()
    with pytest.raises(InvalidTransition):
        _routing(ari).connect()  # nobody answered yet
    bridged = _routing(ari).ring().connect()
    for event in (bridged.ring, bridged.give_up, bridged.connect):
        with pytest.raises(InvalidTransition):
            event()
    with pytest.raises(InvalidTransition):
        bridged.queue("default")
    ended = bridged.end()
    with pytest.raises(InvalidTransition):
        ended.hand_off()
    assert ended.end() is ended


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

