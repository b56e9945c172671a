"""Where an incoming call goes: an ordered chain of targets that always ends in a queue.

Pure: no I/O, so every rule is tested without a database or a PBX. Whether a
manager is busy or unreachable is found out when the chain is carried out.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from crm.calls.route import target_english


@dataclass(frozen=True)
class QueueRef:
    id: int | None  # None: the default queue as known without the database
    name: str


@dataclass(frozen=True)
class ManagerRef:
    user_id: int
    name: str
    extension: str | None
    active: bool


@dataclass(frozen=True)
class CallerFacts:
    """What the CRM knows about a caller's number."""

    counterparty_id: int
    display_name: str
    manager: ManagerRef | None = None
    own_queue: QueueRef | None = None
    # (company name, its queue) for the first group of the client that names a queue
    company_queue: tuple[str, QueueRef] | None = None
    # (tag name, its queue)
    tag_queue: tuple[str, QueueRef] | None = None


@dataclass(frozen=True)
class RoutingPolicy:
    default_queue: QueueRef
    manager_ring_seconds: int = 20


@dataclass(frozen=True)
class Target:
    kind: str  # "manager" | "user" (a line's user: rung as a manager) | "queue"
    reason: str
    manager: ManagerRef | None = None
    queue: QueueRef | None = None
    ring_seconds: int | None = None
    # The words of its route step when not the kind's own (a code of crm/calls/route.py TARGETS,
    # e.g. "transfer_queue"), and who put the call there (a transfer: crm/transfers/decide.py).
    route_code: str | None = None
    by: str | None = None

    @property
    def name(self) -> str:
        """The manager's (or user's) or the queue's name."""
        if self.kind != "queue":
            assert self.manager is not None
            return self.manager.name
        assert self.queue is not None
        return self.queue.name

    @property
    def rings_a_phone(self) -> bool:
        """A manager's or a line's user's phone, not a queue."""
        return self.kind in ("manager", "user")

    def describe(self) -> str:
        """"manager Ivanova", "queue Sales": in English, for logs (the route's words: crm/calls/route.py)."""
        return target_english(self.kind, name=self.name)


def decide(facts: CallerFacts | None, policy: RoutingPolicy, *, unknown_reason: str = "unknown caller") -> list[Target]:
    default = policy.default_queue
    if facts is None:
        return [Target("queue", unknown_reason, queue=default)]

    chain: list[Target] = []
    named = _named_queue(facts)
    fallback_reason = "fallback"
    if named is not None:
        queue, reason = named
        chain.append(Target("queue", reason, queue=queue))
    elif facts.manager is None:
        fallback_reason = f"{facts.display_name} has no responsible manager"
    elif not facts.manager.active:
        fallback_reason = f"responsible manager {facts.manager.name} is blocked or deleted"
    elif not facts.manager.extension:
        fallback_reason = f"responsible manager {facts.manager.name} has no extension"
    else:
        chain.append(Target("manager", f"responsible manager of {facts.display_name}", manager=facts.manager,
                            ring_seconds=policy.manager_ring_seconds))
    last = chain[-1].queue if chain and chain[-1].kind == "queue" else None
    if last is None or last.id != default.id:
        chain.append(Target("queue", fallback_reason, queue=default))
    return chain


def _named_queue(facts: CallerFacts) -> tuple[QueueRef, str] | None:
    """The client's own queue wins over its group's, which wins over a tag's."""
    if facts.own_queue is not None:
        return facts.own_queue, f"{facts.display_name} is routed to queue {facts.own_queue.name}"
    if facts.company_queue is not None:
        company, queue = facts.company_queue
        return queue, f"{company} routes its clients to queue {queue.name}"
    if facts.tag_queue is not None:
        tag, queue = facts.tag_queue
        return queue, f"tag {tag} routes to queue {queue.name}"
    return None


# A phone rung again for a call taken up after a restart rings at least this long.
RESUMED_MIN_RING_SECONDS = 5


def resumed_chain(chain: list[Target], waited: float) -> list[Target]:
    """The chain of a call taken up again after the app was away (ari_app/resync/), `waited` seconds
    after it came in: the phones at its head ring only what is left of their ring time (at least
    RESUMED_MIN_RING_SECONDS, never more than their own), and those whose time is spent are
    skipped: straight on to the queue."""
    left = max(0.0, waited)
    for i, target in enumerate(chain):
        if not target.rings_a_phone or target.ring_seconds is None or left <= 0:
            return chain[i:]
        if target.ring_seconds > left:
            remaining = max(RESUMED_MIN_RING_SECONDS, math.ceil(target.ring_seconds - left))
            return [dataclasses.replace(target, ring_seconds=min(target.ring_seconds, remaining)), *chain[i + 1:]]
        left -= target.ring_seconds
    return []
