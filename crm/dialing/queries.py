"""SQL for dial rules and the users' phones (dial string, mobile, follow me). Every change is
NOTIFYed on the routing channel: the call path's cache (crm/routing/view.py) reloads at once."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.dialing.model import Dialing, FollowMe
from crm.dialing.rules import DialRule, RuleInput
from crm.dialing.technology import PHONE_MODES, phone_dial
from crm.errors import NotFound, ValidationError
from crm.i18n import _
from crm.lines import CHANGED_CHANNEL as ROUTING_CHANGED

_RULE_COLUMNS = "id, position, pattern, strip, prepend, trunk, note"


def _rule(row: asyncpg.Record) -> DialRule:
    return DialRule(id=row["id"], position=row["position"], pattern=row["pattern"], strip=row["strip"],
                    prepend=row["prepend"], trunk=row["trunk"], note=row["note"])


async def list_rules(conn: asyncpg.Connection) -> list[DialRule]:
    return [_rule(r) for r in await conn.fetch(f"SELECT {_RULE_COLUMNS} FROM dial_rules ORDER BY position, id")]


async def rule_by_id(conn: asyncpg.Connection, rule_id: int) -> DialRule:
    row = await conn.fetchrow(f"SELECT {_RULE_COLUMNS} FROM dial_rules WHERE id = $1", rule_id)
    if row is None:
        raise NotFound(_("no dial rule %(id)d") % {"id": rule_id})
    return _rule(row)


def _fields(rule: DialRule) -> dict:
    return {"position": rule.position, "pattern": rule.pattern, "strip": rule.strip, "prepend": rule.prepend,
            "trunk": rule.trunk, "note": rule.note}


async def save_rule(conn: asyncpg.Connection, admin_id: int, rule_id: int | None, inp: RuleInput) -> int:
    """A new rule (rule_id None) or changes to one; checked first (crm/dialing/rules.py), audited."""
    rule = inp.cleaned()
    async with conn.transaction():
        if rule_id is None:
            rule_id = await conn.fetchval(
                """INSERT INTO dial_rules (position, pattern, strip, prepend, trunk, note)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                rule.position, rule.pattern, rule.strip, rule.prepend, rule.trunk, rule.note)
            await audit.record(conn, admin_id, "dial_rule", rule_id, "create", audit.created(_fields(rule)))
        else:
            before = await rule_by_id(conn, rule_id)
            await conn.execute(
                """UPDATE dial_rules SET position = $2, pattern = $3, strip = $4, prepend = $5, trunk = $6,
                          note = $7, updated_at = now() WHERE id = $1""",
                rule_id, rule.position, rule.pattern, rule.strip, rule.prepend, rule.trunk, rule.note)
            changes = audit.diff(_fields(before), _fields(rule))
            if changes:
                await audit.record(conn, admin_id, "dial_rule", rule_id, "update", changes)
        await _changed(conn, f"dial rule {rule_id}")
    return rule_id


async def delete_rule(conn: asyncpg.Connection, admin_id: int, rule_id: int) -> None:
    async with conn.transaction():
        rule = await rule_by_id(conn, rule_id)
        await conn.execute("DELETE FROM dial_rules WHERE id = $1", rule_id)
        await audit.record(conn, admin_id, "dial_rule", rule_id, "delete", audit.deleted(_fields(rule)))
        await _changed(conn, f"dial rule {rule_id}")


async def _changed(conn: asyncpg.Connection, what: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", ROUTING_CHANGED, what)


async def load(conn: asyncpg.Connection) -> Dialing:
    """What the call path dials by: the rules, the dial strings that are not the default, who follows to a mobile."""
    users = await conn.fetch(
        """SELECT id, extension, dial, mobile, follow_me_seconds, phone_mode FROM users
           WHERE deleted_at IS NULL AND NOT is_blocked
             AND (((dial IS NOT NULL OR phone_mode <> 'desk') AND extension IS NOT NULL)
                  OR follow_me_seconds IS NOT NULL)""")
    return Dialing(
        rules=tuple(await list_rules(conn)),
        # The browser phone (issue 19) is one more dial string: PJSIP/webrtc-101, or with the desk's, an & list.
        dials={u["extension"]: phone_dial(u["extension"], u["dial"], u["phone_mode"]) for u in users
               if u["extension"] and (u["dial"] or u["phone_mode"] != "desk")},
        follow_me={u["id"]: FollowMe(u["mobile"], u["follow_me_seconds"]) for u in users
                   if u["follow_me_seconds"] is not None and u["mobile"]})


async def set_user_phone(conn: asyncpg.Connection, by: int, user_id: int, *, dial: str | None,
                         mobile: str | None, follow_me_seconds: int | None) -> None:
    """An admin's: where the user's phone is dialled, the mobile and follow me (all checked already)."""
    await _set_user_fields(conn, by, user_id, "phone",
                           {"dial": dial, "mobile": mobile, "follow_me_seconds": follow_me_seconds})


async def set_own_follow_me(conn: asyncpg.Connection, user_id: int, *, mobile: str | None,
                            follow_me_seconds: int | None) -> None:
    """The user's own mobile and follow-me setting (the account page; checked already)."""
    await _set_user_fields(conn, user_id, user_id, "follow_me",
                           {"mobile": mobile, "follow_me_seconds": follow_me_seconds})


async def set_own_phone_mode(conn: asyncpg.Connection, user_id: int, mode: str) -> None:
    """Which of the user's phones ring (the account page; issue 19): desk, browser or both."""
    if mode not in PHONE_MODES:
        raise ValidationError({"phone_mode": _("choose the desk phone, the browser phone or both")})
    await _set_user_fields(conn, user_id, user_id, "phone_mode", {"phone_mode": mode})


async def _set_user_fields(conn: asyncpg.Connection, by: int, user_id: int, action: str, values: dict) -> None:
    columns = list(values)  # names from the two callers above, never from input
    async with conn.transaction():
        before = await conn.fetchrow(f"SELECT {', '.join(columns)} FROM users WHERE id = $1 AND deleted_at IS NULL",
                                     user_id)
        if before is None:
            raise NotFound(_("no such user"))
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
        await conn.execute(f"UPDATE users SET {assignments}, updated_at = now() WHERE id = $1",
                           user_id, *values.values())
        diff = audit.diff(before, values, columns)
        if diff:
            await audit.record(conn, by, "user", user_id, action, diff)
            await _changed(conn, f"user {user_id}")
