"""SQL for the call rules (crm/calls/rules.py): load them, and the admin's changes - each one checked
(a rule set that would lock admins out of calls is refused, nothing changed) and audited."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.calls.rules import DEFAULT_RULES, LOCKOUT, Rule, clean, locks_out_admins, renumbered
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import gettext as _

_COLUMNS = ("id, kind, position, action, effect, roles, took_part, directions, finished, line_ids, queue_ids, "
            "responsible, owner, card_deleted, note")
# The rule's fields as the audit trail and the JSON name them.
FIELDS = ("kind", "position", "action", "effect", "roles", "took_part", "directions", "finished", "line_ids",
          "queue_ids", "responsible", "owner", "card_deleted", "note")


def _rule(row) -> Rule:
    return Rule(id=row["id"], kind=row["kind"], position=row["position"], action=row["action"],
                effect=row["effect"], roles=frozenset(row["roles"]), took_part=row["took_part"],
                directions=frozenset(row["directions"]), finished=row["finished"],
                line_ids=frozenset(row["line_ids"]), queue_ids=frozenset(row["queue_ids"]),
                responsible=row["responsible"], owner=row["owner"], card_deleted=row["card_deleted"],
                note=row["note"])


def fields(rule: Rule) -> dict:
    """The rule as plain values (sorted lists for sets): for the audit trail and JSON."""
    out = {}
    for name in FIELDS:
        value = getattr(rule, name)
        out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out


async def load(conn: asyncpg.Connection, kind: str = "call") -> tuple[Rule, ...]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM call_rules WHERE kind = $1 ORDER BY position, id", kind)
    return tuple(_rule(r) for r in rows)


async def rule_by_id(conn: asyncpg.Connection, rule_id: int) -> Rule:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM call_rules WHERE id = $1", rule_id)
    if row is None:
        raise NotFound(_("no call rule %(id)d") % {"id": rule_id})
    return _rule(row)


async def _locked(conn: asyncpg.Connection, kind: str) -> tuple[Rule, ...]:
    """The rules, with the table locked against other changes until the transaction ends."""
    await conn.execute("LOCK TABLE call_rules IN SHARE ROW EXCLUSIVE MODE")
    return await load(conn, kind)


def _check(rules) -> None:
    if locks_out_admins(rules) is not None:
        raise Conflict(_(LOCKOUT))


def _values(rule: Rule) -> list:
    f = fields(rule)
    return [f[name] for name in FIELDS]


async def save(conn: asyncpg.Connection, admin_id: int, rule_id: int | None, rule: Rule) -> int:
    """A new rule (rule_id None) or changes to one; refused if wrong or if admins would be locked out."""
    errors = clean(rule)
    if errors:
        raise ValidationError({k: _(v) for k, v in errors.items()})
    async with conn.transaction():
        rules = list(await _locked(conn, rule.kind))
        if rule_id is None:
            _check([*rules, rule])
            rule_id = await conn.fetchval(
                f"""INSERT INTO call_rules ({', '.join(FIELDS)})
                    VALUES ({', '.join(f'${i}' for i in range(1, len(FIELDS) + 1))}) RETURNING id""",
                *_values(rule))
            await audit.record(conn, admin_id, "call_rule", rule_id, "create",
                               {k: [None, v] for k, v in fields(rule).items()})
            return rule_id
        before = next((r for r in rules if r.id == rule_id), None)
        if before is None:
            raise NotFound(_("no call rule %(id)d") % {"id": rule_id})
        _check([r for r in rules if r.id != rule_id] + [rule])
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=2))
        await conn.execute(f"UPDATE call_rules SET {sets}, updated_at = now() WHERE id = $1",
                           rule_id, *_values(rule))
        old, new = fields(before), fields(rule)
        await audit.record(conn, admin_id, "call_rule", rule_id, "update",
                           {k: [old[k], new[k]] for k in FIELDS if old[k] != new[k]})
    return rule_id


async def delete(conn: asyncpg.Connection, admin_id: int, rule_id: int) -> None:
    async with conn.transaction():
        rule = await rule_by_id(conn, rule_id)
        rules = await _locked(conn, rule.kind)
        _check([r for r in rules if r.id != rule_id])
        await conn.execute("DELETE FROM call_rules WHERE id = $1", rule_id)
        await audit.record(conn, admin_id, "call_rule", rule_id, "delete",
                           {k: [v, None] for k, v in fields(rule).items()})


async def move(conn: asyncpg.Connection, admin_id: int, rule_id: int, steps: int) -> None:
    """The rule `steps` places earlier (negative) or later among all rules; positions renumbered 10, 20, ..."""
    async with conn.transaction():
        rule = await rule_by_id(conn, rule_id)
        rules = list(await _locked(conn, rule.kind))
        at = next(i for i, r in enumerate(rules) if r.id == rule_id)
        to = max(0, min(len(rules) - 1, at + steps))
        rules.insert(to, rules.pop(at))
        new = renumbered(rules)
        _check(new)
        for before, after in zip(sorted(rules, key=lambda r: r.id or 0), sorted(new, key=lambda r: r.id or 0),
                                 strict=True):
            if before.position != after.position:
                await conn.execute("UPDATE call_rules SET position = $2, updated_at = now() WHERE id = $1",
                                   after.id, after.position)
                await audit.record(conn, admin_id, "call_rule", after.id, "move",
                                   {"position": [before.position, after.position]})


async def restore_defaults(conn: asyncpg.Connection, admin_id: int | None) -> None:
    """Today's behaviour again (crm/calls/rules.py DEFAULT_RULES): every call rule replaced."""
    async with conn.transaction():
        await _locked(conn, "call")
        await conn.execute("DELETE FROM call_rules WHERE kind = 'call'")
        for rule in DEFAULT_RULES:
            await conn.execute(
                f"""INSERT INTO call_rules ({', '.join(FIELDS)})
                    VALUES ({', '.join(f'${i}' for i in range(1, len(FIELDS) + 1))})""", *_values(rule))
        if admin_id is not None:
            await audit.record(conn, admin_id, "call_rule", None, "restore defaults", {})
