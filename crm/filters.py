"""Saved filter sets (E1): named, private to their user, for the Clients, Companies, Tasks and Calls lists.

A filter set is the list's own query string, so applying it is following a link.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import asyncpg

from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import _

# The lists a filter set belongs to; web/views/filters.py maps each to its page's route.
SECTIONS = frozenset({"clients", "companies", "tasks", "calls", "sms"})
# Conditions only: where the list was paged to is not part of a filter.
_NOT_CONDITIONS = {"page", "csrf_token", "tpage"}


def clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k not in _NOT_CONDITIONS]
    return urlencode(pairs)


async def save(conn: asyncpg.Connection, user_id: int, section: str, name: str, query: str) -> int:
    name = name.strip()
    if section not in SECTIONS:
        raise ValidationError({"section": _("no such list")})
    if not 0 < len(name) <= 80:
        raise ValidationError({"name": _("a filter name is 1 to %(num)d characters") % {"num": 80}})
    try:
        return await conn.fetchval(
            "INSERT INTO saved_filters (user_id, section, name, query) VALUES ($1, $2, $3, $4) RETURNING id",
            user_id, section, name, clean_query(query))
    except asyncpg.UniqueViolationError:
        raise Conflict(_("you have a filter called %(name)s already") % {"name": repr(name)}) from None


async def mine(conn: asyncpg.Connection, user_id: int, section: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name, query FROM saved_filters WHERE user_id = $1 AND section = $2 ORDER BY lower(name)",
        user_id, section)


async def delete(conn: asyncpg.Connection, user_id: int, filter_id: int) -> str:
    """Delete one of the user's own filters; another user's is not found, as if it did not exist."""
    section = await conn.fetchval("DELETE FROM saved_filters WHERE id = $1 AND user_id = $2 RETURNING section",
                                  filter_id, user_id)
    if section is None:
        raise NotFound(_("no such filter"))
    return section
