"""A dial campaign in simulated time (issue 22), driving crm.outbound.pacing.calls_to_place the way the
dialer does: a discrete-event simulation, seeded, of N agents and a list of clients.

A placed call rings; the client answers with a known probability after a random ring time, else the
attempt ends unanswered (no answer after a long ring, or busy/failed quickly). An answered call takes a
free agent at once, or waits for one at most `max_wait` seconds (the regulators' two) and is then dropped.
An agent talks (gamma distributed), wraps up (uniform), and is free again. The pacer is asked after every
event and every `tick` seconds, with the state the dialer would count (pacing.PacingState's docstring).

Measured: calls placed/answered/dropped, drop rate (percent of answered) and the agents' idle time
between calls (from the end of a wrap-up to the next bridged call), in seconds and as a share of their
time (idle + talk + wrap-up)."""

from __future__ import annotations

import heapq
import random
import statistics
from dataclasses import dataclass, field

from crm.outbound.pacing import PacingPolicy, PacingState, calls_to_place


@dataclass(frozen=True)
class World:
    answer_probability: float
    agents: int
    calls: int = 1000  # numbers on the list: every one is dialled once
    answer_after: tuple[float, float] = (4.0, 15.0)  # seconds of ringing before a client answers
    no_answer_after: float = 25.0  # an unanswered call rings this long...
    busy_share: float = 0.3  # ...unless it is busy/failed, within busy_after
    busy_after: tuple[float, float] = (1.0, 5.0)
    talk_mean: float = 60.0  # gamma(shape 2)
    wrap_up: tuple[float, float] = (5.0, 15.0)
    max_wait: float = 2.0  # an answered call waits for an agent this long, then is dropped
    tick: float = 1.0
    seed: int = 1


@dataclass
class Result:
    placed: int = 0
    ended: int = 0
    answered: int = 0
    dropped: int = 0
    idle_gaps: list[float] = field(default_factory=list)  # per bridged call: how long its agent was idle
    busy_time: float = 0.0  # talk + wrap-up of the bridged calls

    @property
    def drop_rate(self) -> float:
        return 100.0 * self.dropped / self.answered if self.answered else 0.0

    @property
    def idle_share(self) -> float:
        idle = sum(self.idle_gaps)
        return idle / (idle + self.busy_time) if idle + self.busy_time else 0.0

    @property
    def median_idle(self) -> float:
        return statistics.median(self.idle_gaps) if self.idle_gaps else 0.0

    @property
    def mean_idle(self) -> float:
        return statistics.fmean(self.idle_gaps) if self.idle_gaps else 0.0


# Event kinds, in the order they are handled at the same instant.
_WRAPPED, _TALKED, _ANSWER, _UNANSWERED, _GIVE_UP, _TICK = range(6)


def simulate(mode: str, world: World, policy: PacingPolicy | None = None) -> Result:
    policy = policy or PacingPolicy()
    rng = random.Random(world.seed)
    result = Result()
    events: list[tuple[float, int, int, int]] = []  # (time, kind, sequence, call or agent)
    sequence = 0

    def at(time: float, kind: int, subject: int) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (time, kind, sequence, subject))

    free_since: dict[int, float] = {agent: 0.0 for agent in range(world.agents)}  # free agents, since when
    wrap_ends: dict[int, float] = {}  # agents in wrap-up, until when
    waiting: dict[int, float] = {}  # answered calls waiting for an agent, since when
    ringing = 0

    def bridge(now: float) -> None:
        # Longest-free agent first, oldest waiting call first.
        while waiting and free_since:
            call = min(waiting, key=waiting.__getitem__)
            del waiting[call]
            agent = min(free_since, key=free_since.__getitem__)
            result.idle_gaps.append(now - free_since.pop(agent))
            result.ended += 1
            result.answered += 1
            talk = rng.gammavariate(2.0, world.talk_mean / 2.0)
            wrap = rng.uniform(*world.wrap_up)
            result.busy_time += talk + wrap
            at(now + talk, _TALKED, agent)
            wrap_ends[agent] = now + talk + wrap  # known to the dialer once the talk ends; harmless early

    def place(now: float) -> None:
        nonlocal ringing
        state = PacingState(
            free_agents=len(free_since), ringing=ringing, ended=result.ended, answered=result.answered,
            dropped=result.dropped, waiting=len(waiting),
            agents_soon_free=sum(1 for agent, until in wrap_ends.items()
                                 if agent in talking_done and until - now <= policy.soon_seconds))
        for _ in range(min(calls_to_place(mode, state, policy), world.calls - result.placed)):
            call = result.placed
            result.placed += 1
            ringing += 1
            if rng.random() < world.answer_probability:
                at(now + rng.uniform(*world.answer_after), _ANSWER, call)
            elif rng.random() < world.busy_share:
                at(now + rng.uniform(*world.busy_after), _UNANSWERED, call)
            else:
                at(now + world.no_answer_after, _UNANSWERED, call)

    talking_done: set[int] = set()  # agents in wrap-up (their talk ended)
    at(0.0, _TICK, 0)
    while events:
        now, kind, _, subject = heapq.heappop(events)
        if kind == _TICK:
            if result.placed < world.calls or ringing or waiting:
                at(now + world.tick, _TICK, 0)
        elif kind == _ANSWER:
            ringing -= 1
            waiting[subject] = now
            at(now + world.max_wait, _GIVE_UP, subject)
        elif kind == _UNANSWERED:
            ringing -= 1
            result.ended += 1
        elif kind == _GIVE_UP:
            if subject in waiting:
                del waiting[subject]
                result.ended += 1
                result.answered += 1
                result.dropped += 1
        elif kind == _TALKED:
            talking_done.add(subject)
            at(wrap_ends[subject], _WRAPPED, subject)
        elif kind == _WRAPPED:
            talking_done.discard(subject)
            del wrap_ends[subject]
            free_since[subject] = now
        bridge(now)
        if result.placed < world.calls:
            place(now)
    return result
