"""How many numbers a campaign dials now (issue 22): pure, so the simulation and the dialer share it.

progressive: one call per free agent, less the calls already ringing and the answered calls waiting
for an agent. preview: the agent dials (none here).

predictive: enough calls that, with the answer rate measured so far, the expected number of answered
calls no agent can take (drops) stays a small share of the expected answered ones:

* the answer rate is the Wilson score UPPER bound of answered/ended (the higher it is believed, the
  fewer calls are placed), so a short or unlucky history never makes the dialer bolder;
* the agents counted are the free ones, plus `soon_weight` of those whose wrap-up ends within
  `soon_seconds` (a call rings a few seconds before it is answered), less the answered calls waiting;
* the calls ringing now and the new ones are answered Binomial(ringing + n, p); n is the largest for
  which E[(answered - agents)+] <= share * E[answered], share a part of the drop limit;
* the drop limit (percent of answered, over the whole campaign) is a budget: the share per decision
  is `target_share` of the limit, plus up to `budget_share` more as the Wilson upper bound of the
  campaign's measured drop rate leaves headroom under the limit, and none - progressive - once that
  bound or the drops themselves reach it. `budget_spend` caps a decision's expected drops at that part
  of the drops the budget has left (limit x answered - dropped, at least one call's worth: 1).

tests/outbound_simulation.py drives it over simulated campaigns (tests/test_outbound_pacing.py;
bench/outbound_pacing.py measures agents' idle time against progressive).

Counting, as the dialer keeps it: an attempt is "ended" once its outcome is known — an unanswered one
when its channel is gone, an ANSWERED one at its bridge to an agent or its drop (not at its hangup),
so answered <= ended and answered/ended is the answer rate. A call answered by a machine (AMD) is not
"answered": no agent was needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crm.outbound.model import PREDICTIVE, PROGRESSIVE

# Until this many attempts have ended the answer rate is a guess: dial as progressive.
WARMUP_ATTEMPTS = 20


@dataclass(frozen=True)
class PacingState:
    free_agents: int  # logged in, not paused, not on a call, not reserved for an answered call
    ringing: int  # attempts placed and not yet answered or ended
    ended: int  # attempts ended so far in the campaign (an answered one at its bridge or drop)
    answered: int  # of them, answered by a person (bridged or dropped)
    dropped: int  # of the answered, no agent in time
    agents_soon_free: int = 0  # in wrap-up that ends within the policy's soon_seconds
    waiting: int = 0  # answered calls waiting for an agent now


@dataclass(frozen=True)
class PacingPolicy:
    drop_limit: float = 3.0  # percent of answered, over the campaign
    max_ratio: float = 6.0  # at most this many calls ringing per available agent
    # Per decision, expected drops per expected answered call: target_share of the limit, plus up to
    # budget_share more by the headroom the measured drop rate leaves. Above 1 in all on purpose: the
    # model takes every ringing call as answered at once, while agents free up during the ringing and
    # an answered call may wait max two seconds, so it overstates drops; the measured rate is the check.
    target_share: float = 1.0
    budget_share: float = 2.0
    budget_spend: float = 1.0  # a decision's expected drops: at most this part of the budget left
    soon_seconds: float = 10.0  # wrap-up ending within this counts (soon_weight of it) as a free agent
    soon_weight: float = 1.0
    confidence: float = 1.96  # z of the answer rate's Wilson upper bound (1.96: 95 %, two-sided)
    drop_confidence: float = 1.0  # z of the drop rate's Wilson upper bound, the headroom's measure


def drop_rate(state: PacingState) -> float:
    """Percent of answered calls dropped so far."""
    return 100.0 * state.dropped / state.answered if state.answered else 0.0


def wilson_bounds(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion: (lower, upper); (0, 1) without trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def answer_rate(state: PacingState, policy: PacingPolicy) -> float | None:
    """The answer rate the predictive mode dials by (Wilson upper bound), None while warming up."""
    if state.ended < WARMUP_ATTEMPTS or state.answered == 0:
        return None
    return wilson_bounds(state.answered, state.ended, policy.confidence)[1]


def drop_share(state: PacingState, policy: PacingPolicy) -> float:
    """Expected drops per expected answered call this decision may risk (a fraction, not percent)."""
    limit = policy.drop_limit / 100.0
    if limit <= 0:
        return 0.0
    if state.answered == 0:
        return limit * policy.target_share
    upper = wilson_bounds(state.dropped, state.answered, policy.drop_confidence)[1]
    headroom = 1.0 - upper / limit
    if headroom <= 0 or state.dropped >= limit * state.answered:
        return 0.0
    return limit * (policy.target_share + policy.budget_share * min(1.0, headroom))


def available_agents(state: PacingState, policy: PacingPolicy) -> float:
    return max(0.0, state.free_agents + policy.soon_weight * state.agents_soon_free - state.waiting)


def expected_overflow(calls: int, p: float, agents: float) -> tuple[float, float]:
    """X ~ Binomial(calls, p): (E[(X - agents)+], E[X]). The probabilities from the mode's (never
    below 1/(calls + 1)) outwards, so hundreds of calls do not underflow to "no drop at all"."""
    if calls <= 0 or p <= 0:
        return 0.0, 0.0
    if p >= 1:
        return max(0.0, calls - agents), float(calls)
    odds = p / (1 - p)
    mode = min(calls, math.floor((calls + 1) * p))
    at_mode = math.exp(math.lgamma(calls + 1) - math.lgamma(mode + 1) - math.lgamma(calls - mode + 1)
                       + mode * math.log(p) + (calls - mode) * math.log1p(-p))
    first = max(0, math.floor(agents) + 1)
    over, pmf = 0.0, at_mode
    for k in range(mode, calls + 1):  # the mode and above
        if k >= first:
            over += (k - agents) * pmf
        pmf *= (calls - k) / (k + 1) * odds
        if pmf < 1e-15:
            break  # the tail's rest weighs nothing
    pmf = at_mode
    for k in range(mode - 1, first - 1, -1):  # below the mode, down to the first overflowing count
        pmf *= (k + 1) / (calls - k) / odds
        over += (k - agents) * pmf
    return over, calls * p


def _progressive(state: PacingState) -> int:
    return max(0, state.free_agents - state.waiting - state.ringing)


def _predictive(state: PacingState, policy: PacingPolicy) -> int:
    p = answer_rate(state, policy)
    floor = _progressive(state)
    if p is None:
        return floor
    share = drop_share(state, policy)
    if share <= 0:
        return floor  # the budget is spent: no call without a free agent for it
    agents = available_agents(state, policy)
    budget_left = max(1.0, policy.drop_limit / 100.0 * state.answered - state.dropped)
    cap = math.floor(policy.max_ratio * agents) - state.ringing
    if cap <= floor:
        return floor

    def safe(n: int) -> bool:
        over, answered = expected_overflow(state.ringing + n, p, agents)
        return over <= share * answered and over <= policy.budget_spend * budget_left

    # Expected drops grow with n faster than expected answers: the safe n are those up to one.
    low, high = floor, cap
    while low < high:
        middle = (low + high + 1) // 2
        if safe(middle):
            low = middle
        else:
            high = middle - 1
    return low


def calls_to_place(mode: str, state: PacingState, policy: PacingPolicy) -> int:
    """How many new calls the campaign places now (0 for preview and unknown modes)."""
    if mode == PROGRESSIVE:
        return _progressive(state)
    if mode == PREDICTIVE:
        return _predictive(state, policy)
    return 0
