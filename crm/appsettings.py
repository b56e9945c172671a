"""CRM-wide settings an admin changes in the UI, kept in PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

from crm import audit, sections
from crm.errors import ValidationError
from crm.i18n import _, current
from crm.roles import ADMIN, SUPERVISOR

# Section names: a CRM of dealers grouped by regions renames Clients and Companies (A5), per
# language (crm/sections.py); get_all() gives them as words in the language in force.
DEFAULTS: dict[str, object] = {
    "section.clients": None,
    "section.companies": None,
    # Who may export lists and reports to Excel (F4): supervisors by default.
    "export.roles": [SUPERVISOR, ADMIN],
    # The UI's language for users who chose none (issue 14); None: each browser's.
    "locale.language": None,
    # Dialled before every click-to-call number (H6), as a desk phone dials it: "9" for an outside line.
    "dial.prefix": "",
}

DIAL_PREFIX = re.compile(r"^[0-9*#]{0,10}$")


def _with_sections(values: dict[str, Any]) -> dict[str, Any]:
    """The stored section names as words in the language in force: "section.clients" is the
    section's name ("Clients"), "sections" each kind's crm.sections.Section."""
    by_kind = sections.by_kind({key: values.get(f"section.{key}") for key in sections.SECTIONS}, current())
    values["sections"] = by_kind
    for kind, key in sections.SECTION_OF_KIND.items():
        values[f"section.{key}"] = by_kind[kind].name
    return values


def defaults() -> dict[str, Any]:
    """The settings nobody changed, in the language in force (pages shown without the database)."""
    return _with_sections(dict(DEFAULTS))


async def get_all(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch("SELECT key, value FROM app_settings WHERE key = ANY($1::text[])", list(DEFAULTS))
    values = dict(DEFAULTS)
    values.update({r["key"]: json.loads(r["value"]) for r in rows})
    return _with_sections(values)


async def stored(conn: asyncpg.Connection, key: str) -> Any:
    """One setting as stored, None when nobody set it (for the audit's "before")."""
    raw = await conn.fetchval("SELECT value FROM app_settings WHERE key = $1", key)
    return json.loads(raw) if raw is not None else None


async def centre_language(conn: asyncpg.Connection) -> str | None:
    """The call centre's language, for pages shown before anyone logs in."""
    return await conn.fetchval("SELECT value #>> '{}' FROM app_settings WHERE key = 'locale.language'")


async def set_centre_language(conn: asyncpg.Connection, user_id: int, language: str | None) -> None:
    from crm.i18n import supported

    if language and not supported(language):
        raise ValidationError({"language": _("is not a language of this CRM")})
    async with conn.transaction():
        before = await stored(conn, "locale.language")
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('locale.language', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps(supported(language)), user_id)
        await audit.record(conn, user_id, "settings", None, "language",
                           audit.diff({"language": before}, {"language": supported(language)}))


async def set_export_roles(conn: asyncpg.Connection, user_id: int, roles: list[str]) -> None:
    from crm.users import ROLES

    roles = [r for r in ROLES if r in set(roles)]
    if ADMIN not in roles:
        roles.append(ADMIN)  # the admin can always undo this
    async with conn.transaction():
        before = await stored(conn, "export.roles") or DEFAULTS["export.roles"]
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('export.roles', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps(roles), user_id)
        await audit.record(conn, user_id, "settings", None, "export roles",
                           audit.diff({"roles": before}, {"roles": roles}))


async def dial_prefix(conn: asyncpg.Connection) -> str:
    """What click-to-call dials before each number ("" by default)."""
    return await conn.fetchval("SELECT value #>> '{}' FROM app_settings WHERE key = 'dial.prefix'") or ""


async def set_dial_prefix(conn: asyncpg.Connection, user_id: int, prefix: str) -> None:
    prefix = prefix.strip()
    if not DIAL_PREFIX.match(prefix):
        raise ValidationError({"dial_prefix": _("up to 10 digits, * or #")})
    async with conn.transaction():
        before = await stored(conn, "dial.prefix") or ""
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('dial.prefix', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps(prefix), user_id)
        await audit.record(conn, user_id, "settings", None, "dial prefix",
                           audit.diff({"dial_prefix": before}, {"dial_prefix": prefix}))
