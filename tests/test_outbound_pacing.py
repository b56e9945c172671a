"""Predictive pacing (issue 22, crm/outbound/pacing.py): the pacer's decisions, then whole campaigns in
simulated time (tests/outbound_simulation.py) - the drop limit held over 1,000 calls, agents idle less."""

import itertools
import math

import pytest

from crm.outbound.model import PREDICTIVE, PREVIEW, PROGRESSIVE
from crm.outbound.pacing import (
    PacingPolicy,
    PacingState,
    answer_rate,
    calls_to_place,
    drop_rate,
    drop_share,
    expected_overflow,
    wilson_bounds,
)
from tests.outbound_simulation import World, simulate

POLICY = PacingPolicy()


def state(free=10, ringing=0, ended=1000, answered=300, dropped=0, soon=0, waiting=0) -> PacingState:
    return PacingState(free_agents=free, ringing=ringing, ended=ended, answered=answered, dropped=dropped,
                       agents_soon_free=soon, waiting=waiting)


def test_wilson_bounds_bracket_the_measured_rate_and_narrow_with_more_trials():
    low, high = wilson_bounds(30, 100, 1.96)
    assert low == pytest.approx(0.2189, abs=1e-3) and high == pytest.approx(0.3958, abs=1e-3)
    low_many, high_many = wilson_bounds(300, 1000, 1.96)
    assert low < low_many < 0.3 < high_many < high
    assert wilson_bounds(0, 10, 1.96)[0] == 0.0 and wilson_bounds(0, 10, 1.96)[1] > 0.2
    assert wilson_bounds(0, 0, 1.96) == (0.0, 1.0)


def test_expected_overflow_matches_counting_every_outcome():
    calls, p, agents = 6, 0.4, 2.5
    brute = sum(math.comb(calls, k) * p ** k * (1 - p) ** (calls - k) * max(0.0, k - agents)
                for k in range(calls + 1))
    over, answered = expected_overflow(calls, p, agents)
    assert over == pytest.approx(brute) and answered == pytest.approx(2.4)
    assert expected_overflow(0, 0.5, 1) == (0.0, 0.0)
    assert expected_overflow(4, 1.0, 1) == (3.0, 4.0)
    # A big campaign: no underflow (0.6 ** 1000 is 0 in floating point); about sigma / sqrt(2 pi) over the mean.
    assert expected_overflow(1000, 0.5, 500)[0] == pytest.approx(math.sqrt(250 / (2 * math.pi)), abs=0.1)
    assert expected_overflow(1000, 0.4, 300)[0] == pytest.approx(100, abs=0.5)


def test_predictive_paces_a_big_team():
    calls = calls_to_place(PREDICTIVE, state(free=200, ended=10_000, answered=4000), POLICY)
    assert 400 < calls < 600  # about as many as 200 agents take at a 40 % answer rate, less a margin


def test_progressive_dials_one_call_per_free_agent_less_the_ringing_and_the_waiting():
    assert calls_to_place(PROGRESSIVE, state(free=5, ringing=2), POLICY) == 3
    assert calls_to_place(PROGRESSIVE, state(free=5, ringing=2, waiting=1), POLICY) == 2
    assert calls_to_place(PROGRESSIVE, state(free=2, ringing=4), POLICY) == 0
    assert calls_to_place(PROGRESSIVE, state(free=0, soon=5), POLICY) == 0
    assert calls_to_place(PREVIEW, state(free=5), POLICY) == 0
    assert calls_to_place("unknown", state(free=5), POLICY) == 0


def test_predictive_dials_as_progressive_until_the_answer_rate_is_measured():
    early = state(free=5, ended=19, answered=5)
    assert answer_rate(early, POLICY) is None
    assert calls_to_place(PREDICTIVE, early, POLICY) == 5


def test_predictive_dials_more_than_one_call_per_agent_and_fewer_as_more_answer():
    by_rate = [calls_to_place(PREDICTIVE, state(free=10, answered=a), POLICY) for a in (200, 350, 600, 900)]
    assert by_rate[0] > 10 and by_rate[0] <= 6 * 10
    assert by_rate == sorted(by_rate, reverse=True) and by_rate[0] > by_rate[-1]
    # The calls already ringing count against it.
    assert calls_to_place(PREDICTIVE, state(free=10, answered=200, ringing=by_rate[0]), POLICY) == 0


def test_the_answer_rate_is_believed_high_while_little_is_known():
    few = state(free=10, ended=20, answered=6)
    many = state(free=10, ended=1000, answered=300)
    assert answer_rate(few, POLICY) > answer_rate(many, POLICY) > 0.3
    assert calls_to_place(PREDICTIVE, few, POLICY) < calls_to_place(PREDICTIVE, many, POLICY)


def test_the_drop_limit_is_a_budget_spent_only_while_the_drop_rate_leaves_headroom():
    clean, some, spent = state(dropped=0), state(dropped=5), state(dropped=9)
    assert drop_rate(some) == pytest.approx(100 * 5 / 300)
    assert drop_share(clean, POLICY) > drop_share(some, POLICY) > 0
    assert calls_to_place(PREDICTIVE, clean, POLICY) > calls_to_place(PREDICTIVE, some, POLICY) > 10
    # 9 of 300 answered is the limit (3 %): back to one call per free agent.
    assert drop_share(spent, POLICY) == 0
    assert calls_to_place(PREDICTIVE, spent, POLICY) == calls_to_place(PROGRESSIVE, spent, POLICY) == 10
    assert calls_to_place(PREDICTIVE, state(free=0, soon=4, dropped=9), POLICY) == 0
    # A stricter limit dials less.
    assert calls_to_place(PREDICTIVE, clean, PacingPolicy(drop_limit=1.0)) < calls_to_place(PREDICTIVE, clean, POLICY)


def test_agents_soon_free_count_and_answered_calls_waiting_take_agents():
    assert calls_to_place(PREDICTIVE, state(free=0, soon=0), POLICY) == 0
    assert calls_to_place(PREDICTIVE, state(free=0, soon=4), POLICY) > 0
    assert calls_to_place(PREDICTIVE, state(free=0, soon=4), PacingPolicy(soon_weight=0)) == 0
    assert calls_to_place(PREDICTIVE, state(free=4, waiting=2), POLICY) < calls_to_place(PREDICTIVE, state(free=4),
                                                                                          POLICY)
    assert calls_to_place(PREDICTIVE, state(free=2, waiting=3), POLICY) == 0


@pytest.mark.parametrize("answer_probability,agents,seed",
                         list(itertools.product((0.2, 0.35, 0.6), (5, 20), (1, 2))))
def test_a_predictive_campaign_keeps_its_drop_rate_under_the_limit_over_1000_calls(answer_probability, agents, seed):
    result = simulate(PREDICTIVE, World(answer_probability, agents, calls=1000, seed=seed))
    assert result.placed == 1000 and result.ended == 1000
    # The clients did answer about as often as they were made to (three standard deviations).
    spread = 3 * math.sqrt(1000 * answer_probability * (1 - answer_probability))
    assert abs(result.answered - 1000 * answer_probability) < spread
    assert result.dropped > 0 or answer_probability < 0.3  # it did spend some of the budget...
    assert result.drop_rate < POLICY.drop_limit, result  # ...and no more than it had


@pytest.mark.parametrize("answer_probability", (0.2, 0.35, 0.6))
def test_predictive_leaves_agents_less_idle_than_progressive(answer_probability):
    world = World(answer_probability, agents=20, calls=1000, seed=3)
    progressive, predictive = simulate(PROGRESSIVE, world), simulate(PREDICTIVE, world)
    assert progressive.dropped == 0  # a free agent for every call
    assert predictive.idle_share < 0.8 * progressive.idle_share
    assert predictive.median_idle < 0.8 * progressive.median_idle
