"""How many numbers a campaign dials now (issue 22): pure, so the simulation and the dialer share it.

progressive: one call per free agent (less those already ringing). predictive: more calls than free
agents, by the measured answer rate, throttled back as the measured drop rate (answered calls no agent
could take in time, over all answered) nears the campaign's limit. preview: the agent dials (none here).
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
    ended: int  # attempts ended so far in the campaign
    answered: int  # of them, answered by a person (bridged or dropped)
    dropped: int  # of the answered, no agent in time


@dataclass(frozen=True)
class PacingPolicy:
    drop_limit: float = 3.0  # percent of answered
    max_ratio: float = 3.0  # at most this many calls ringing per free agent


def drop_rate(state: PacingState) -> float:
    """Percent of answered calls dropped so far."""
    return 100.0 * state.dropped / state.answered if state.answered else 0.0


def dial_ratio(state: PacingState, policy: PacingPolicy) -> float:
    """Calls per free agent the predictive mode places now."""
    if state.ended < WARMUP_ATTEMPTS or state.answered == 0:
        return 1.0
    answer_rate = state.answered / state.ended
    ratio = 1.0 / max(answer_rate, 1.0 / policy.max_ratio)
    # Near or over the limit, fall back towards one call per agent.
    headroom = 1.0 - drop_rate(state) / policy.drop_limit
    if headroom <= 0:
        return 1.0
    return max(1.0, min(policy.max_ratio, 1.0 + (ratio - 1.0) * min(1.0, headroom)))


def calls_to_place(mode: str, state: PacingState, policy: PacingPolicy) -> int:
    if state.free_agents <= 0:
        return 0
    if mode == PROGRESSIVE:
        return max(0, state.free_agents - state.ringing)
    if mode == PREDICTIVE:
        return max(0, math.floor(state.free_agents * dial_ratio(state, policy)) - state.ringing)
    return 0
