"""A PBX node's state from its last word (issue 26, crm/nodes/state.py): up, down, silent, since when."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.nodes import CHANNEL, HEARTBEAT_SECONDS
from crm.nodes.state import (
    APP_SILENT,
    ASTERISK_LOST,
    DOWN,
    POLICY,
    SILENT,
    UP,
    Facts,
    Policy,
    node_state,
    node_states,
    not_up,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def facts(name: str = "b", *, connected: bool = True, seen: float = 2, up: float | None = 600,
          down: float | None = None, calls: int = 3) -> Facts:
    return Facts(name=name, ari_url="http://10.0.0.2:8088", connected=connected, seen_at=ago(seen),
                 up_since=None if up is None else ago(up), down_since=None if down is None else ago(down),
                 calls_now=calls)


def test_the_constants_are_the_issues():
    assert (HEARTBEAT_SECONDS, CHANNEL) == (5, "pbxcrm_nodes")
    assert POLICY.silent_after == dt.timedelta(seconds=15), "three heartbeats"


def test_a_connected_node_heard_lately_is_up_since_it_connected():
    s = node_state(facts(), NOW)
    assert (s.state, s.reason, s.since, s.seconds) == (UP, "", ago(600), 600.0)
    assert s.is_up and s.calls_now == 3 and s.ari_url == "http://10.0.0.2:8088"
    assert (s.seen_at, s.word_age) == (ago(2), 2.0)


def test_a_node_whose_asterisk_does_not_answer_is_down_since_it_was_lost():
    s = node_state(facts(connected=False, up=600, down=40), NOW)
    assert (s.state, s.reason, s.since, s.seconds) == (DOWN, ASTERISK_LOST, ago(40), 40.0)
    assert not s.is_up


@pytest.mark.parametrize("connected", [True, False])
def test_a_node_unheard_for_more_than_three_heartbeats_is_silent_since_its_last_word(connected):
    s = node_state(facts(connected=connected, seen=15.5, down=100), NOW)
    assert (s.state, s.reason, s.since, s.seconds) == (SILENT, APP_SILENT, ago(15.5), 15.5)


def test_silence_starts_only_past_fifteen_seconds():
    assert node_state(facts(seen=15), NOW).state == UP, "exactly three heartbeats: still up"
    assert node_state(facts(seen=15.01), NOW).state == SILENT


def test_the_policy_sets_when_silence_starts():
    quick = Policy(heartbeat_seconds=1, silent_after_heartbeats=2)
    assert node_state(facts(seen=2.5), NOW, quick).state == SILENT
    assert node_state(facts(seen=1.5), NOW, quick).state == UP


def test_without_a_recorded_change_the_state_counts_from_the_last_word():
    assert node_state(facts(up=None), NOW).since == ago(2)
    assert node_state(facts(connected=False, down=None), NOW).since == ago(2)


def test_a_word_from_ahead_of_the_clock_is_not_a_negative_age():
    s = node_state(facts(seen=-1, up=-1), NOW)
    assert s.state == UP and s.seconds == 0.0 and s.word_age == 0.0


def test_the_nodes_by_name_and_those_not_up_longest_first():
    rows = [facts("c", connected=False, down=10), facts("a"), facts("b", seen=60)]
    states = node_states(rows, NOW)
    assert [s.name for s in states] == ["a", "b", "c"]
    assert [(s.name, s.state) for s in not_up(states)] == [("b", SILENT), ("c", DOWN)]
    assert not_up(node_states([facts("a")], NOW)) == []
