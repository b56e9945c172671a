"""CRM-wide settings an admin changes in the UI, kept in PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from crm import audit
from crm.errors import ValidationError
from crm.i18n import _
from crm.roles import ADMIN, SUPERVISOR

# Section names: a CRM of dealers grouped by regions renames Clients and Companies (A5).
DEFAULTS: dict[str, object] = {
    "section.clients": "Clients",
    "section.companies": "Companies",
    # Who may export lists and reports to Excel (F4): supervisors by default.
    "export.roles": [SUPERVISOR, ADMIN],
    # The UI's language for users who chose none (issue 14); None: each browser's.
    "locale.language": None,
}


async def get_all(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch("SELECT key, value FROM app_settings WHERE key = ANY($1::text[])", list(DEFAULTS))
    values = dict(DEFAULTS)
    values.update({r["key"]: json.loads(r["value"]) for r in rows})
    return values


async def set_section_names(conn: asyncpg.Connection, user_id: int, clients: str, companies: str) -> None:
    names = {"section.clients": clients.strip(), "section.companies": companies.strip()}
    errors = {k: "a section name is 1 to 40 characters" for k, v in names.items() if not 0 < len(v) <= 40}
    if errors:
        raise ValidationError(errors)
    async with conn.transaction():
        for key, value in names.items():
            await conn.execute(
                """INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(),
                                                   updated_by = EXCLUDED.updated_by""",
                key, json.dumps(value), user_id)
        await audit.record(conn, user_id, "settings", None, "rename sections", names)


async def centre_language(conn: asyncpg.Connection) -> str | None:
    """The call centre's language, for pages shown before anyone logs in."""
    return await conn.fetchval("SELECT value #>> '{}' FROM app_settings WHERE key = 'locale.language'")


async def set_centre_language(conn: asyncpg.Connection, user_id: int, language: str | None) -> None:
    from crm.i18n import supported

    if language and not supported(language):
        raise ValidationError({"language": _("is not a language of this CRM")})
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('locale.language', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps(supported(language)), user_id)
        await audit.record(conn, user_id, "settings", None, "language", {"language": supported(language)})


async def set_export_roles(conn: asyncpg.Connection, user_id: int, roles: list[str]) -> None:
    from crm.users import ROLES

    roles = [r for r in ROLES if r in set(roles)]
    if ADMIN not in roles:
        roles.append(ADMIN)  # the admin can always undo this
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('export.roles', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps(roles), user_id)
        await audit.record(conn, user_id, "settings", None, "export roles", {"roles": roles})
