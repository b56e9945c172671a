"""Transfer decisions, pure: who may transfer a call now, what a phone's REFER names, and the
chain a transferred call rings - the target, then back to the transferer, then the default
queue, so that a transfer nobody takes never drops the caller."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from crm.i18n import N_
from crm.roles import sees_everything
from crm.routing.decide import ManagerRef, QueueRef, Target

# What a REFER's Refer-To user part may be: a user's extension (crm/users: 2 to 6 digits), or
# a longer number, dialled out through the dial rules. Anything else names nothing we ring.
EXTENSION = re.compile(r"^[0-9]{2,6}$")
NUMBER = re.compile(r"^\+?[0-9]{7,20}$")

# Why a call cannot be transferred now: (HTTP status, message). 409 says the call is not in a
# state for it, 403 that this user may not.
NOT_ANSWERED = (409, N_("the call is not answered yet: nothing to transfer"))
ENDED = (409, N_("the call has ended"))
PLACED = (409, N_("calls placed by a user are not transferred: the call lives on the channel of the phone "
                  "that placed it and ends when that phone hangs up; transfer incoming calls"))
FORBIDDEN = (403, N_("only the operator on the call, supervisors and admins may transfer it"))
SAME_USER = (409, N_("the call is already with this user"))


@dataclass(frozen=True)
class TransferFacts:
    """What decides whether a call can be transferred now (crm/transfers/queries.facts)."""

    direction: str
    answered: bool
    ended: bool
    # Who is talking on our side now (the call's open leg); None: nobody, or a number outside.
    talking_user_id: int | None


def refusal(facts: TransferFacts, user: Mapping, *, target_user_id: int | None = None) -> tuple[int, str] | None:
    """None when this user may transfer the call now (to that user, if one is named); else why not."""
    if facts.talking_user_id != user["id"] and not sees_everything(user):
        return FORBIDDEN
    if facts.ended:
        return ENDED
    if facts.direction != "incoming":
        return PLACED
    if not facts.answered:
        return NOT_ANSWERED
    if target_user_id is not None and target_user_id == facts.talking_user_id:
        return SAME_USER
    return None


@dataclass(frozen=True)
class Destination:
    """What a phone's REFER asked for: a user's extension or an outside number."""

    kind: str  # "extension" | "number"
    value: str


def destination_of(refer_user_part: str) -> Destination | None:
    """The Refer-To's user part ("103", "+74951234567", "84951234567") as what it names, or None."""
    text = (refer_user_part or "").strip()
    if EXTENSION.match(text):
        return Destination("extension", text)
    if NUMBER.match(text):
        return Destination("number", text)
    return None


def chain(target: Target | None, *, transferer: ManagerRef | None, default_queue: QueueRef, by: str,
          ring_seconds: int) -> list[Target]:
    """The targets a transferred call rings, in order: `target` (with the transfer's words on its
    step), then the transferer's own phone again, then the default queue - each only when it is
    not the one before. `target` None: the transfer was to a number, rung before this chain."""
    steps = [] if target is None else [replace(target, route_code=f"transfer_{target.kind}", by=by)]
    back_to_self = target is not None and target.manager is not None and transferer is not None \
        and target.manager.user_id == transferer.user_id
    if transferer is not None and transferer.extension and not back_to_self:
        steps.append(Target("user", "the transfer was not answered: back to whom it came from",
                            manager=transferer, ring_seconds=ring_seconds, route_code="transfer_back"))
    if target is None or target.queue is None or target.queue.id != default_queue.id:
        steps.append(Target("queue", "nobody took the transfer", queue=default_queue))
    return steps


def user_target(user_id: int, name: str, extension: str | None, ring_seconds: int) -> Target:
    return Target("user", "transferred", manager=ManagerRef(user_id, name, extension, True), ring_seconds=ring_seconds)


def queue_target(queue_id: int | None, name: str) -> Target:
    return Target("queue", "transferred", queue=QueueRef(queue_id, name))
