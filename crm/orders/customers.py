"""The outsourcing call centre's customers (issue 22, H9): the admin's list, new, rename, delete; and the
admin's switch that lets order URLs reach local and private networks (off by default: crm/orders/sources.py)."""

from __future__ import annotations

import json

import asyncpg

from crm import audit
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import _

PRIVATE_URLS_KEY = "orders.private_urls"


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("the customer needs a name")})
    if len(name) > 200:
        raise ValidationError({"name": _("at most 200 characters")})
    return name


async def list_customers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Live customers with how many orders and users each has."""
    return await conn.fetch(
        """SELECT c.id, c.name, c.created_at,
                  (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS orders,
                  (SELECT count(*) FROM users u WHERE u.customer_id = c.id AND u.deleted_at IS NULL) AS users
           FROM customers c WHERE c.deleted_at IS NULL ORDER BY lower(c.name), c.id""")


async def get(conn: asyncpg.Connection, customer_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, name FROM customers WHERE id = $1 AND deleted_at IS NULL", customer_id)
    if row is None:
        raise NotFound(_("no such customer"))
    return row


async def save(conn: asyncpg.Connection, user_id: int, customer_id: int | None, name: str) -> int:
    name = clean_name(name)
    async with conn.transaction():
        clash = await conn.fetchval("SELECT id FROM customers WHERE lower(name) = lower($1) AND deleted_at IS NULL "
                                    "AND id IS DISTINCT FROM $2", name, customer_id)
        if clash is not None:
            raise Conflict(_("a customer named %(name)s already exists") % {"name": name})
        if customer_id is None:
            new_id = await conn.fetchval("INSERT INTO customers (name) VALUES ($1) RETURNING id", name)
            await audit.record(conn, user_id, "customer", new_id, "create", {"name": name})
            return new_id
        before = await get(conn, customer_id)
        await conn.execute("UPDATE customers SET name = $2 WHERE id = $1", customer_id, name)
        await audit.record(conn, user_id, "customer", customer_id, "update",
                           audit.diff({"name": before["name"]}, {"name": name}))
        return customer_id


async def delete(conn: asyncpg.Connection, user_id: int, customer_id: int) -> None:
    """A customer with users or open orders stays: its people would lose their pages."""
    async with conn.transaction():
        row = await get(conn, customer_id)
        busy = await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM users WHERE customer_id = $1 AND deleted_at IS NULL)
                   OR EXISTS (SELECT 1 FROM orders WHERE customer_id = $1 AND status = 'open')""", customer_id)
        if busy:
            raise Conflict(_("the customer has users or open orders; delete or move them first"))
        await conn.execute("UPDATE customers SET deleted_at = now() WHERE id = $1", customer_id)
        await audit.record(conn, user_id, "customer", customer_id, "delete", {"name": row["name"]})


async def private_urls_allowed(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(
        "SELECT (value #>> '{}')::boolean FROM app_settings WHERE key = $1", PRIVATE_URLS_KEY))


async def set_private_urls(conn: asyncpg.Connection, user_id: int, allowed: bool) -> None:
    async with conn.transaction():
        before = await private_urls_allowed(conn)
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $3""",
            PRIVATE_URLS_KEY, json.dumps(allowed), user_id)
        await audit.record(conn, user_id, "settings", None, "order urls",
                           audit.diff({"private_urls": before}, {"private_urls": allowed}))
