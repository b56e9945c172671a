"""The admin's SMS gateways and sending numbers (issue 21): SQL, audited, and a NOTIFY on every change
(GATEWAYS_CHANNEL) so the sender worker reloads them without a restart."""

from __future__ import annotations

import json
from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.sms import gateway_config

GATEWAYS_CHANNEL = "pbxcrm_sms_gateways"


async def _changed(conn: asyncpg.Connection, what: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", GATEWAYS_CHANNEL, what)


async def gateways(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch(
        """SELECT g.id, g.name, g.kind, g.config, g.active, g.created_at,
                  (SELECT count(*) FROM sms_numbers n WHERE n.gateway_id = g.id) AS numbers
           FROM sms_gateways g ORDER BY lower(g.name), g.id""")
    return [{**r, "config": json.loads(r["config"])} for r in rows]


async def gateway(conn: asyncpg.Connection, gateway_id: int) -> dict | None:
    # $1 as bigint: an id past the serial column's range is no gateway, not an error from asyncpg.
    row = await conn.fetchrow("SELECT id, name, kind, config, active FROM sms_gateways WHERE id = $1::bigint",
                              gateway_id)
    return None if row is None else {**row, "config": json.loads(row["config"])}


async def save_gateway(conn: asyncpg.Connection, admin_id: int, gateway_id: int | None, name: str, kind: str,
                       active: bool, typed: Mapping[str, str]) -> int:
    """Create or change a gateway; its settings checked by crm/sms/gateway_config.validate."""
    name = name.strip()
    async with conn.transaction():
        before = await gateway(conn, gateway_id) if gateway_id else None
        if gateway_id and before is None:
            raise NotFound(_("no such gateway"))
        errors = {} if 0 < len(name) <= 100 else {"name": _("a name is 1 to %(num)d characters") % {"num": 100}}
        try:
            config = gateway_config.validate(kind, typed, before["config"] if before and before["kind"] == kind
                                             else None)
        except ValidationError as e:
            raise ValidationError({**errors, **e.errors}) from None
        if errors:
            raise ValidationError(errors)
        try:
            if before is None:
                gateway_id = await conn.fetchval(
                    "INSERT INTO sms_gateways (name, kind, config, active) VALUES ($1, $2, $3::jsonb, $4) RETURNING id",
                    name, kind, json.dumps(config), active)
            else:
                await conn.execute("UPDATE sms_gateways SET name = $2, kind = $3, config = $4::jsonb, active = $5 "
                                   "WHERE id = $1::bigint", gateway_id, name, kind, json.dumps(config), active)
        except asyncpg.UniqueViolationError:
            raise ValidationError({"name": _("there is a gateway called %(name)s already") % {"name": name}}) from None
        after = {"name": name, "kind": kind, "active": active, "config": gateway_config.shown(config)}
        if before is None:
            await audit.record(conn, admin_id, "sms_gateway", gateway_id, "create", audit.created(after))
        else:
            was = {"name": before["name"], "kind": before["kind"], "active": before["active"],
                   "config": gateway_config.shown(before["config"])}
            await audit.record(conn, admin_id, "sms_gateway", gateway_id, "update",
                               {k: [was[k], v] for k, v in after.items() if was[k] != v})
        await _changed(conn, f"gateway {gateway_id}")
    assert gateway_id is not None
    return gateway_id


async def set_active(conn: asyncpg.Connection, admin_id: int, gateway_id: int, active: bool) -> None:
    async with conn.transaction():
        was = await conn.fetchval("SELECT active FROM sms_gateways WHERE id = $1::bigint FOR UPDATE", gateway_id)
        if was is None:
            raise NotFound(_("no such gateway"))
        if was != active:
            await conn.execute("UPDATE sms_gateways SET active = $2 WHERE id = $1::bigint", gateway_id, active)
            await audit.record(conn, admin_id, "sms_gateway", gateway_id, "update", {"active": [was, active]})
            await _changed(conn, f"gateway {gateway_id}")


async def numbers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT n.number, n.gateway_id, n.is_default, g.name AS gateway_name, g.active "
                            "FROM sms_numbers n JOIN sms_gateways g ON g.id = n.gateway_id "
                            "ORDER BY NOT n.is_default, n.number")


async def save_number(conn: asyncpg.Connection, admin_id: int, number: str, gateway_id: int | None,
                      is_default: bool, region: str) -> str:
    """Add a sending number or change its gateway; the default one is the only default."""
    errors = {}
    try:
        normalized = normalize_phone(number, region) if number.strip() else ""
    except InvalidPhone as e:
        errors["number"] = str(e)
        normalized = ""
    if not number.strip():
        errors["number"] = _("required")
    if gateway_id is None:
        errors["gateway_id"] = _("required")
    if errors:
        raise ValidationError(errors)
    async with conn.transaction():
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sms_gateways WHERE id = $1::bigint)", gateway_id):
            raise ValidationError({"gateway_id": _("no such gateway")})
        before = await conn.fetchrow("SELECT gateway_id, is_default FROM sms_numbers WHERE number = $1 FOR UPDATE",
                                     normalized)
        if is_default:
            await conn.execute("UPDATE sms_numbers SET is_default = false WHERE is_default AND number <> $1",
                               normalized)
        await conn.execute(
            """INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ($1, $2, $3)
               ON CONFLICT (number) DO UPDATE SET gateway_id = excluded.gateway_id, is_default = excluded.is_default""",
            normalized, gateway_id, is_default)
        after = {"number": normalized, "gateway_id": gateway_id, "is_default": is_default}
        if before is None:
            await audit.record(conn, admin_id, "sms_number", None, "create", audit.created(after))
        else:
            await audit.record(conn, admin_id, "sms_number", None, "update",
                               {"number": [normalized, normalized],
                                **audit.diff({"number": normalized, **before}, after)})
        await _changed(conn, f"number {normalized}")
    return normalized


async def delete_number(conn: asyncpg.Connection, admin_id: int, number: str) -> None:
    async with conn.transaction():
        row = await conn.fetchrow("DELETE FROM sms_numbers WHERE number = $1 RETURNING gateway_id, is_default", number)
        if row is None:
            raise NotFound(_("no such sending number"))
        await audit.record(conn, admin_id, "sms_number", None, "delete",
                           {"number": [number, None], "gateway_id": [row["gateway_id"], None]})
        await _changed(conn, f"number {number}")
