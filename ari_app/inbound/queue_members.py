"""Which of a queue's members a waiting caller rings now: those that look free, of the agents
logged in, not paused and out of wrap-up; then reserved for this call, every one (ring all) or
the next in turn (round robin). Split from the call session (ari_app/inbound/session.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

from ari_app.deps import SessionDeps
from ari_app.ringing import Phone
from crm.agents.state import ringable
from crm.queues.model import QueueSettings


async def available(d: SessionDeps, owner: str, queue: QueueSettings) -> list[Phone]:
    """The members' phones that look free to the call of channel `owner`, of the agents logged in
    to the queue, not paused and out of wrap-up (crm/agents/state.py); other calls may take them
    before this one reserves."""
    agents = set(ringable(queue.id, [m.user_id for m in queue.members], d.crm.agent_states(),
                          dt.datetime.now(dt.timezone.utc)))
    members = [m for m in queue.members if m.user_id in agents]
    problems = await asyncio.gather(*(d.ringer.endpoint_problem(m.extension, owner) for m in members))
    return [Phone(m.user_id, m.name, m.extension) for m, p in zip(members, problems) if p is None]


def reserve(d: SessionDeps, owner: str, queue: QueueSettings, phones: list[Phone]) -> list[Phone]:
    """The phones the call of channel `owner` rings now, reserved for it: every free one (ring all),
    or the next free one in turn (round robin). No await in here: the reservation is atomic."""
    if not phones:
        return []
    if queue.strategy != "roundrobin":
        return d.ringer.try_reserve(owner, phones)
    key = queue.id or 0  # a queue not saved yet (None) keeps its turn under 0
    turn = d.round_robin.get(key, 0)
    start = turn % len(phones)
    got = d.ringer.try_reserve(owner, phones[start:] + phones[:start], limit=1)
    if got:
        d.round_robin[key] = turn + 1
    return got
