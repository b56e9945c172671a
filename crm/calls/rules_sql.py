"""The call rules (crm/calls/rules.py) as a SQL condition, so that lists, counts, exports and
report aggregates keep only what the user may see in the database - before LIMIT, before count().

`condition(rules, user, action, alias="c", start=n)` gives a boolean SQL expression over the calls
row `alias` and the parameters it uses, numbered from $start: the caller appends them to its own.
Only the whitelisted expressions below reach the SQL; every value is a $n parameter. The user's
role is known here, so rules of other roles drop out, and a rule without conditions ends the
CASE: for supervisors and admins under the default rules the condition is plain TRUE.
tests/test_call_rules_sql.py checks that this and rules.decide agree on random rules and calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from crm import customers_scope
from crm.calls.rules import ALLOW, SEE, Rule, ordered

_ALIAS = re.compile(r"^[a-z_][a-z0-9_]{0,20}$")

# The facts of rules.Facts, per kind of document, as SQL over its row {a}; {u} is the user's id.
# Each is true or false, never NULL (NOT NULL would be NULL too).
# A user's call legs and the deleted cards: an uncorrelated IN (...), which PostgreSQL hashes once per
# query, not EXISTS, which probes an index for every call a list or a count scans (bench/calls_list.py:
# an operator's filtered call log 0.7 s -> 0.04 s on 1,000,000 calls). Both sets stay small enough to
# hash; a manager's clients may not, so "responsible" stays a probe by primary key.
CALL_FACTS = {
    "took_part": ("(coalesce({a}.operator_user_id = {u} OR {a}.caller_user_id = {u}, false) OR "
                  "{a}.id IN (SELECT rl.call_id FROM call_legs rl WHERE rl.user_id = {u}))"),
    "finished": "({a}.ended_at IS NOT NULL)",
    "responsible": ("EXISTS (SELECT 1 FROM counterparties rc WHERE rc.id = {a}.counterparty_id "
                    "AND rc.responsible_user_id = {u})"),
    "owner": "coalesce({a}.owner_user_id = {u}, false)",
    "card_deleted": ("coalesce({a}.counterparty_id IN (SELECT rd.id FROM counterparties rd "
                     "WHERE rd.deleted_at IS NOT NULL), false)"),
    "direction": "{a}.direction = ANY({p}::text[])",
    "line": "coalesce({a}.line_id = ANY({p}::bigint[]), false)",
    "queue": "coalesce({a}.queue_id = ANY({p}::bigint[]), false)",
}
FACTS_OF_KIND = {"call": CALL_FACTS}


class _Params:
    """$n placeholders from `start`, each value added on first use."""

    def __init__(self, start: int):
        self.start = start
        self.values: list = []

    def add(self, value) -> str:
        self.values.append(value)
        return f"${self.start + len(self.values) - 1}"


class _Compiler:
    def __init__(self, user: Mapping, alias: str, params: _Params, kind: str):
        if not _ALIAS.match(alias):
            raise ValueError(f"not a table alias: {alias!r}")
        self.user, self.alias, self.params, self.facts = user, alias, params, FACTS_OF_KIND[kind]
        self._user_param: str | None = None

    def _user(self) -> str:
        if self._user_param is None:
            self._user_param = self.params.add(int(self.user["id"])) + "::bigint"
        return self._user_param

    def _fact(self, name: str, value=None) -> str:
        sql = self.facts[name]
        return sql.format(a=self.alias, u=self._user() if "{u}" in sql else "",
                          p=self.params.add(value) if "{p}" in sql else "")

    def rule(self, rule: Rule) -> str:
        """The rule's conditions (its roles are already known to hold) as one expression."""
        parts = []
        for name in ("took_part", "finished", "responsible", "owner", "card_deleted"):
            wanted = getattr(rule, name)
            if wanted is not None:
                fact = self._fact(name)
                parts.append(fact if wanted else f"NOT {fact}")
        if rule.directions:
            parts.append(self._fact("direction", sorted(rule.directions)))
        if rule.line_ids:
            parts.append(self._fact("line", sorted(rule.line_ids)))
        if rule.queue_ids:
            parts.append(self._fact("queue", sorted(rule.queue_ids)))
        return " AND ".join(parts)

    def action(self, rules: Iterable[Rule], action: str, kind: str) -> str:
        """First match as CASE WHEN ... THEN ... ELSE false END."""
        whens: list[str] = []
        for rule in ordered(rules, action, kind):
            if not rule.applies_to_role(self.user["role"]):
                continue
            allow = "true" if rule.effect == ALLOW else "false"
            if rule.unconditional():
                return f"(CASE {' '.join(whens)} ELSE {allow} END)" if whens else allow
            whens.append(f"WHEN {self.rule(rule)} THEN {allow}")
        return f"(CASE {' '.join(whens)} ELSE false END)" if whens else "false"


def condition(rules: Iterable[Rule], user: Mapping, action: str, *, alias: str = "c", start: int = 1,
              kind: str = "call") -> tuple[str, list]:
    """(SQL boolean expression, its parameters from $start): may `user` do `action` to the row `alias`?
    For a customer's user the rules do not apply: its orders' calls (crm/customers_scope.py)."""
    rules = tuple(rules)
    params = _Params(start)
    if customers_scope.decides(user):
        return _customer(user, action, alias, params), params.values
    compiler = _Compiler(user, alias, params, kind)
    see = compiler.action(rules, SEE, kind)
    if action == SEE:
        return see, params.values
    other = compiler.action(rules, action, kind)
    if see == "true":
        return other, params.values
    return f"({see} AND {other})", params.values


def _customer(user: Mapping, action: str, alias: str, params: _Params) -> str:
    """crm/customers_scope.may as SQL over the calls row `alias`."""
    if not _ALIAS.match(alias):
        raise ValueError(f"not a table alias: {alias!r}")
    customer_id = customers_scope.customer_of(user)
    if action not in customers_scope.CUSTOMER_ACTIONS or customer_id is None:
        return "false"
    return customers_scope.CALL_SCOPE_SQL.format(a=alias, c=params.add(customer_id) + "::bigint")
