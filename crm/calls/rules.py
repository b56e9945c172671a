"""Who may see a call, listen to its recording and edit it (G2, issue 17): the admin's rules, as
data (the call_rules table, crm/calls/rule_queries.py), decided by one pure function.

Rules are read in order (position, then id). For an action, the FIRST rule of that action whose
conditions all hold decides - allow or deny; when none holds, the answer is deny. First match,
not deny-overrides, because the admin orders the rules: an exception goes above the rule it
excepts ("deny outgoing calls to operators who did not take part" above "allow every call").

Listening and editing need seeing too: a call a user may not see he may not play or change.

A condition left empty holds for every call: no roles is every role, took part "any", no
directions every direction, and so on. The same rules compile to a SQL condition
(crm/calls/rules_sql.py) so lists, counts, exports and reports filter in the database;
tests/test_call_rules_sql.py checks that both agree.

Generic over the kind of document (calls now; SMS, chats and e-mails as they arrive): a rule
names its `kind`, and every document kind gives the same facts (who took part, direction,
finished, line, queue, the counterparty's responsible user, the owner when it happened, whether
the counterparty's card is deleted).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from crm import customers_scope
from crm.i18n import N_
from crm.roles import ADMIN, MANAGER, ROLES, SUPERVISOR

KINDS = ("call",)
SEE, LISTEN, EDIT = "see", "listen", "edit"
ACTIONS = (SEE, LISTEN, EDIT)
ALLOW, DENY = "allow", "deny"
EFFECTS = (ALLOW, DENY)
DIRECTIONS = ("incoming", "outgoing", "internal")
# The yes/no/any conditions, by their names in the table and the form.
TRISTATES = ("took_part", "finished", "responsible", "owner", "card_deleted")

LOCKOUT = N_("these rules would stop admins from seeing or editing some calls; "
             "put a rule allowing admins above the others")


@dataclass(frozen=True)
class Rule:
    """One rule. Tri-state conditions: None any, True yes, False no."""

    action: str
    effect: str
    roles: frozenset[str] = frozenset()
    took_part: bool | None = None
    directions: frozenset[str] = frozenset()
    finished: bool | None = None
    line_ids: frozenset[int] = frozenset()
    queue_ids: frozenset[int] = frozenset()
    # The user is the responsible manager of the counterparty the call is on now.
    responsible: bool | None = None
    # The user is the call's owner: the responsible manager of its client when it happened.
    owner: bool | None = None
    # The counterparty the call is on has been deleted.
    card_deleted: bool | None = None
    position: int = 100
    id: int | None = None
    note: str = ""
    kind: str = "call"

    def applies_to_role(self, role: str) -> bool:
        return not self.roles or role in self.roles

    def unconditional(self) -> bool:
        """Holds for every call (whatever the role)."""
        return (not self.directions and not self.line_ids and not self.queue_ids
                and all(getattr(self, name) is None for name in TRISTATES))


@dataclass(frozen=True)
class Facts:
    """What the rules read of one call (or, later, one message)."""

    participant_ids: frozenset[int] = frozenset()
    direction: str = ""
    finished: bool = False
    line_id: int | None = None
    queue_id: int | None = None
    responsible_user_id: int | None = None
    owner_user_id: int | None = None
    card_deleted: bool = False
    # The customer whose order the call was made under (issue 22, G3; None: under no order).
    order_customer_id: int | None = None

    @classmethod
    def of_call(cls, call: Mapping) -> Facts:
        """From a calls row with its legs' users (leg_user_ids), its counterparty's responsible_user_id and
        counterparty_deleted_at; missing keys read as "not known" (nobody, not finished, not deleted)."""
        ids = (call.get("operator_user_id"), call.get("caller_user_id"), *(call.get("leg_user_ids") or ()))
        return cls(participant_ids=frozenset(i for i in ids if i is not None),
                   direction=call.get("direction") or "", finished=call.get("ended_at") is not None,
                   line_id=call.get("line_id"), queue_id=call.get("queue_id"),
                   responsible_user_id=call.get("responsible_user_id"), owner_user_id=call.get("owner_user_id"),
                   card_deleted=call.get("counterparty_deleted_at") is not None,
                   order_customer_id=call.get("order_customer_id"))


def _tri(wanted: bool | None, actual: bool) -> bool:
    return wanted is None or wanted == actual


def matches(rule: Rule, facts: Facts, user: Mapping) -> bool:
    """Do all the rule's conditions hold for this user and call?"""
    me = user["id"]
    return (rule.applies_to_role(user["role"])
            and _tri(rule.took_part, me in facts.participant_ids)
            and (not rule.directions or facts.direction in rule.directions)
            and _tri(rule.finished, facts.finished)
            and (not rule.line_ids or facts.line_id in rule.line_ids)
            and (not rule.queue_ids or facts.queue_id in rule.queue_ids)
            and _tri(rule.responsible, facts.responsible_user_id == me)
            and _tri(rule.owner, facts.owner_user_id == me)
            and _tri(rule.card_deleted, facts.card_deleted))


def ordered(rules: Iterable[Rule], action: str, kind: str = "call") -> list[Rule]:
    """The rules of one action and kind, in the order they are tried."""
    return sorted((r for r in rules if r.action == action and r.kind == kind),
                  key=lambda r: (r.position, r.id or 0))


def _first_match(rules: Iterable[Rule], facts: Facts, user: Mapping, action: str, kind: str) -> bool:
    for rule in ordered(rules, action, kind):
        if matches(rule, facts, user):
            return rule.effect == ALLOW
    return False


def decide(rules: Iterable[Rule], facts: Facts, user: Mapping, action: str, kind: str = "call") -> bool:
    """May this user do action (see, listen, edit) to this call? Listen and edit need see as well.
    A customer's user: its orders' calls only, whatever the rules (crm/customers_scope.py)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if customers_scope.decides(user):
        return customers_scope.may(user, facts.order_customer_id, action)
    rules = tuple(rules)
    if action != SEE and not _first_match(rules, facts, user, SEE, kind):
        return False
    return _first_match(rules, facts, user, action, kind)


def _rule(position: int, action: str, **conditions) -> Rule:
    return Rule(action=action, effect=ALLOW, position=position, **conditions)


_OVERSEERS = frozenset({SUPERVISOR, ADMIN})
# Today's behaviour (issue 12 and 15), as rules; migration 0027 seeds the same (a test checks).
DEFAULT_RULES: tuple[Rule, ...] = (
    # Supervisors and admins see every call; participants theirs; everyone else every call
    # except one on a deleted card (that, like the card, is for supervisors and admins).
    _rule(10, SEE, roles=_OVERSEERS), _rule(20, SEE, took_part=True), _rule(30, SEE, card_deleted=False),
    # Supervisors and admins hear everything; participants their calls; a manager the calls of his clients
    # (the owner, when it happened: moving the call later gives it to nobody new).
    _rule(40, LISTEN, roles=_OVERSEERS), _rule(50, LISTEN, took_part=True),
    _rule(60, LISTEN, roles=frozenset({MANAGER}), owner=True),
    # Supervisors and admins change any call; participants theirs; the responsible manager of the client it is on.
    _rule(70, EDIT, roles=_OVERSEERS), _rule(80, EDIT, took_part=True), _rule(90, EDIT, responsible=True),
)


def _representatives(sets: Sequence[frozenset[int]]) -> list[int | None]:
    """One id for each way the rules tell ids apart (the rules naming it), and None: one no rule names."""
    found: dict[tuple[bool, ...], int] = {}
    for i in sorted(set().union(*sets)):
        found.setdefault(tuple(i in s for s in sets), i)
    return [*found.values(), None]


def _cases(rules: Sequence[Rule], me: int) -> Iterable[Facts]:
    """Every kind of call the rules can tell apart, as seen by user `me`: each condition's values,
    and lines and queues by which rules name them (not every id: a few kinds, however many lines)."""
    lines = _representatives([r.line_ids for r in rules])
    queues = _representatives([r.queue_ids for r in rules])
    for took, direction, finished, line, queue, resp, owner, deleted in itertools.product(
            (True, False), DIRECTIONS, (True, False), lines, queues, (True, False), (True, False), (True, False)):
        yield Facts(participant_ids=frozenset({me}) if took else frozenset(), direction=direction, finished=finished,
                    line_id=line, queue_id=queue, responsible_user_id=me if resp else None,
                    owner_user_id=me if owner else None, card_deleted=deleted)


def locks_out_admins(rules: Iterable[Rule], kind: str = "call") -> Facts | None:
    """A call an admin could not see or edit under these rules (None: admins see and edit every call).
    The rules govern calls, not the admin pages: admins always reach those."""
    # Only the rules that can decide for an admin: seeing and editing, for every role or admins.
    rules = [r for r in rules if r.kind == kind and r.action in (SEE, EDIT) and r.applies_to_role(ADMIN)]
    me = -1
    admin = {"id": me, "role": ADMIN}
    for facts in _cases(rules, me):
        if not decide(rules, facts, admin, EDIT, kind):
            return facts
    return None


def renumbered(rules: Sequence[Rule], step: int = 10) -> list[Rule]:
    """The rules in their order, positions 10, 20, ... (after a move)."""
    return [replace(r, position=step * (i + 1)) for i, r in enumerate(rules)]


def clean(rule: Rule) -> dict[str, str]:
    """What is wrong with a rule, by field (empty: nothing)."""
    errors = {}
    if rule.kind not in KINDS:
        errors["kind"] = N_("unknown kind of document")
    if rule.action not in ACTIONS:
        errors["action"] = N_("choose see, listen or edit")
    if rule.effect not in EFFECTS:
        errors["effect"] = N_("choose allow or deny")
    if not rule.roles <= set(ROLES):
        errors["roles"] = N_("unknown role")
    if not rule.directions <= set(DIRECTIONS):
        errors["directions"] = N_("unknown call type")
    if not 1 <= rule.position <= 9999:
        errors["position"] = N_("from 1 to 9999")
    if len(rule.note) > 200:
        errors["note"] = N_("at most 200 characters")
    return errors

