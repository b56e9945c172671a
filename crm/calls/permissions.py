"""Who may see a call and who may change it - move it to another counterparty, or write its
comment (issue 12). Since issue 17 the call rules decide (crm/calls/rules.py, the admin's); the
list below is what the default rules say.

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
PBX fields stay read-only for everyone: only the comment and the counterparty change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crm.calls.rules import DEFAULT_RULES, EDIT, SEE, Facts, Rule, decide
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


def can_view(user: Mapping, call: Mapping, rules: Iterable[Rule] = DEFAULT_RULES) -> bool:
    """May this user see the call? Decided by the call rules (crm/calls/rules.py; the defaults are
    today's rule: every user sees every call except one on a deleted card, which is, like the card,
    for supervisors and admins and for its participants). `call`: a calls row with its legs'
    users and its counterparty's counterparty_deleted_at."""
    return decide(rules, Facts.of_call(call), user, SEE)


def may_change(rules: Iterable[Rule], call: Mapping, user: Mapping, target: Mapping | None = None) -> bool:
    """May this user change this call (a calls row: Facts.of_call) - comment it, or (target given) attach
    it to that counterparty?"""
    return _change(rules, Facts.of_call(call), user, target)


def can_change(facts: CallFacts, user: Mapping, target: Mapping | None = None,
               rules: Iterable[Rule] = DEFAULT_RULES) -> bool:
    """may_change from the facts of who took part and whose client the call is on."""
    return _change(rules, Facts(participant_ids=facts.participant_ids,
                                responsible_user_id=facts.responsible_user_id), user, target)


def _change(rules: Iterable[Rule], facts: Facts, user: Mapping, target: Mapping | None) -> bool:
    """The rules decide the call; moving it onto a card also asks of the card: a live one, and one
    the user may edit unless he took part (he knows who was on the line) or sees everything."""
    if target is not None and target.get("deleted_at") is not None:
        return False
    if not decide(rules, facts, user, EDIT):
        return False
    if target is None or sees_everything(user) or user["id"] in facts.participant_ids:
        return True
    return cp_perm.can_edit(user, target)
