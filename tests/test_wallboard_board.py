"""The wallboard's pure functions (crm/wallboard/board.py): an agent's state, time in state, the
counts by state and the tiles' amber/red thresholds."""

from __future__ import annotations

import datetime as dt

from crm.agents.state import AgentState
from crm.wallboard.board import (
    STATES,
    LiveCall,
    agent_state,
    colour_above,
    colour_below,
    count_states,
    longest_wait,
    paused_reasons,
    queue_colours,
    state_since,
    worst,
)

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
THRESHOLDS = {"service_level_seconds": 20, "wait_amber_seconds": 30, "wait_red_seconds": 60,
              "level_amber_percent": 80, "level_red_percent": 60}


def test_a_call_comes_before_presence_and_a_queue_logout_counts_in_that_queue():
    free = AgentState(1)
    assert agent_state(free, NOW, talking=False, ringing=False) == "available"
    assert agent_state(free, NOW, talking=False, ringing=True) == "ringing"
    assert agent_state(free, NOW, talking=True, ringing=True) == "talking", "talking wins over a second ring"
    paused = AgentState(1, paused=True, reason_id=3)
    assert agent_state(paused, NOW, talking=False, ringing=False) == "paused"
    assert agent_state(paused, NOW, talking=True, ringing=False) == "talking", "a paused agent may be on a call"
    out = AgentState(1, logged_in=False)
    assert agent_state(out, NOW, talking=False, ringing=False, queue_id=5) == "logged_out"
    out_of_five = AgentState(1, queues_out=frozenset({5}))
    assert agent_state(out_of_five, NOW, talking=False, ringing=False, queue_id=5) == "logged_out"
    assert agent_state(out_of_five, NOW, talking=False, ringing=False, queue_id=6) == "available"
    assert agent_state(out_of_five, NOW, talking=False, ringing=False) == "available", "the agent's own row"
    wrapping = AgentState(1, wrapup_until=NOW + dt.timedelta(seconds=5))
    assert agent_state(wrapping, NOW, talking=False, ringing=False) == "wrapup"
    assert agent_state(wrapping, NOW + dt.timedelta(seconds=6), talking=False, ringing=False) == "available"


def test_time_in_state_starts_at_the_call_the_wrap_up_or_the_last_presence_change():
    call = LiveCall(1, 77, NOW - dt.timedelta(seconds=40), True)
    changed = NOW - dt.timedelta(minutes=10)
    wrapup = NOW - dt.timedelta(seconds=3)
    assert state_since("talking", changed, call, wrapup) == call.since
    assert state_since("ringing", changed, call, wrapup) == call.since
    assert state_since("wrapup", changed, None, wrapup) == wrapup
    assert state_since("paused", changed, None, wrapup) == changed
    assert state_since("available", None, None, None) is None


def test_counts_by_state_and_by_pause_reason():
    counts = count_states(["available", "talking", "talking", "paused"])
    assert list(counts) == list(STATES) and counts["talking"] == 2 and counts["wrapup"] == 0
    reasons = paused_reasons([("paused", "lunch"), ("paused", "training"), ("paused", "lunch"),
                              ("available", None), ("paused", None)])
    assert reasons == [{"reason": "lunch", "count": 2}, {"reason": "", "count": 1},
                       {"reason": "training", "count": 1}]


def test_the_longest_wait_is_the_earliest_callers():
    assert longest_wait([], NOW) is None
    assert longest_wait([NOW - dt.timedelta(seconds=5), NOW - dt.timedelta(seconds=50)], NOW) == 50


def test_colours_turn_amber_then_red_at_the_admins_thresholds():
    assert [colour_above(v, 30, 60) for v in (None, 0, 29.9, 30, 59, 60, 600)] == [
        "ok", "ok", "ok", "amber", "amber", "red", "red"]
    assert [colour_below(v, 80, 60) for v in (None, 100, 80, 79.9, 60, 59.9, 0)] == [
        "ok", "ok", "ok", "amber", "amber", "red", "red"]
    assert worst("ok", "amber") == "amber" and worst("red", "amber") == "red" and worst("ok") == "ok"
    assert queue_colours(None, None, THRESHOLDS) == {"wait": "ok", "level": "ok", "tile": "ok"}
    assert queue_colours(45, 0.9, THRESHOLDS) == {"wait": "amber", "level": "ok", "tile": "amber"}
    assert queue_colours(10, 0.5, THRESHOLDS) == {"wait": "ok", "level": "red", "tile": "red"}
    assert queue_colours(61, 0.7, THRESHOLDS)["tile"] == "red"


def test_the_queue_forms_thresholds_are_checked():
    from crm.queues.model import threshold_errors

    assert threshold_errors(20, 30, 60, 80, 60) == {}
    assert set(threshold_errors(0, 30, 60, 80, 60)) == {"service_level_seconds"}
    assert set(threshold_errors(20, 60, 30, 80, 60)) == {"wait_red_seconds"}, "red before amber"
    assert set(threshold_errors(20, 30, 60, 60, 80)) == {"level_red_percent"}, "red above amber"
    assert set(threshold_errors(20, 30, 60, 101, 60)) == {"level_amber_percent"}
