"""SQL for the IP allow-lists."""

from __future__ import annotations

import asyncpg

from crm.allowlist.rules import Entry, Network


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(network=row["network"], role=row["role"], user_id=row["user_id"])


async def lock(conn: asyncpg.Connection) -> None:
    """Changes one at a time (until the transaction ends): two admins' changes made at the same
    moment cannot add up to a list that shuts both out. Readers are not held up."""
    await conn.execute("LOCK TABLE ip_allow_entries IN SHARE ROW EXCLUSIVE MODE")


async def entries_for(conn: asyncpg.Connection, user_id: int, role: str) -> list[Entry]:
    """The entries that can apply to this user: their own and their role's."""
    return [_entry(r) for r in await conn.fetch(
        "SELECT network, role, user_id FROM ip_allow_entries WHERE user_id = $1 OR role = $2", user_id, role)]


async def list_entries(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every entry with its user's login and name and who added it: roles first, then users."""
    return await conn.fetch(
        """SELECT e.id, e.role, e.user_id, u.login, u.full_name, e.network, e.note, e.created_at,
                  b.full_name AS created_by_name
           FROM ip_allow_entries e
           LEFT JOIN users u ON u.id = e.user_id
           LEFT JOIN users b ON b.id = e.created_by
           ORDER BY e.user_id IS NOT NULL, e.role, u.login, e.network""")


async def insert_entry(conn: asyncpg.Connection, *, role: str | None, user_id: int | None, network: Network,
                       note: str, by: int | None) -> asyncpg.Record | None:
    """The new entry, or None when the same network is on that list already."""
    return await conn.fetchrow(
        """INSERT INTO ip_allow_entries (role, user_id, network, note, created_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING id, role, user_id, network, note""",
        role, user_id, network, note, by)


async def delete_entry(conn: asyncpg.Connection, entry_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "DELETE FROM ip_allow_entries WHERE id = $1 RETURNING id, role, user_id, network, note", entry_id)


async def delete_list(conn: asyncpg.Connection, *, role: str | None = None,
                      user_id: int | None = None) -> list[asyncpg.Record]:
    """Every entry of a role's list or of a user's own; the rows deleted."""
    return await conn.fetch(
        """DELETE FROM ip_allow_entries WHERE (role = $1 AND user_id IS NULL) OR user_id = $2
           RETURNING id, role, user_id, network, note""", role, user_id)


async def active_user(conn: asyncpg.Connection, *, user_id: int | None = None,
                      login: str | None = None) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, login, full_name, role FROM users
           WHERE (id = $1 OR lower(login) = lower($2)) AND deleted_at IS NULL""", user_id, login)
