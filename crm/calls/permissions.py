"""Who may change a call - move it to another counterparty, or write its comment (issue 12).

Pure: the facts about the call are gathered first (crm/calls/queries.call_for_change),
then decided here without I/O.

- Supervisors and admins change any call.
- The call's participants - the user who answered it, everyone it was transferred to
  who talked on it (its legs), and the user whose phone placed it - change it: they
  know who was on the line, so they may attach it to any live counterparty (that is
  how an unknown caller's number is learned).
- The responsible manager of the counterparty the call is on now changes it, and
  moves it only onto a counterparty he may edit himself.
- Nobody else: not another manager, not an operator who did not take the call.

Listening is another question, decided by crm/recordings/policy.can_listen from the
participants and the call's original owner, which changing a call never touches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.counterparties import permissions as cp_perm
from crm.roles import sees_everything


@dataclass(frozen=True)
class CallFacts:
    """What decides who may change a call."""

    participant_ids: frozenset[int]
    # The responsible user of the counterparty the call is attached to now (None: none, or no counterparty).
    responsible_user_id: int | None = None

    @classmethod
    def of(cls, call: Mapping) -> "CallFacts":
        """From a calls row joined with its current counterparty's responsible_user_id (and its legs' users)."""
        ids = (call.get("operator_user_id"), call.get("caller_user_id"), *(call.get("leg_user_ids") or ()))
        return cls(frozenset(i for i in ids if i is not None), call.get("responsible_user_id"))


def can_view(user: Mapping, call: Mapping) -> bool:
    """May this user see the call (its page, /calls/{id})? Today's rule, the call log's: every
    user sees every call - a call centre answers any caller, as every user sees every
    counterparty - except that a call on a deleted card is, like the card, for supervisors and
    admins, and for its participants. (Issue 17 makes the rules the admin's; this is the one
    place the page asks.) `call`: a calls row with its counterparty's counterparty_deleted_at."""
    if sees_everything(user) or user["id"] in CallFacts.of(call).participant_ids:
        return True
    return call.get("counterparty_deleted_at") is None


def can_change(facts: CallFacts, user: Mapping, target: Mapping | None = None) -> bool:
    """May this user change the call - comment it, or (target given) attach it to that counterparty?"""
    if target is not None and target.get("deleted_at") is not None:
        return False
    if sees_everything(user) or user["id"] in facts.participant_ids:
        return True
    if facts.responsible_user_id is None or facts.responsible_user_id != user["id"]:
        return False
    return target is None or cp_perm.can_edit(user, target)
