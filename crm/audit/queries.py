"""SQL for the admin's audit viewer and its Excel export: filters from whitelisted columns only,
every value a $n parameter, the count capped as the big lists' are."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from crm import db

COUNT_CAP = 10_000


@dataclass(frozen=True)
class AuditQuery:
    start: dt.date | None = None  # the call centre's days, both included
    end: dt.date | None = None
    user_id: int | None = None  # 0: the system / an unknown login
    entity: str | None = None
    entity_id: int | None = None
    action: str | None = None
    # An address or a network (CIDR): rows from inside it.
    address: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    page: int = 1
    size: int = 50
    timezone: str = "UTC"


def where(query: AuditQuery) -> tuple[str, list]:
    args: list = []

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    conditions = []
    if query.start is not None:
        conditions.append(f"a.at >= ({p(query.start)}::date)::timestamp AT TIME ZONE {p(query.timezone)}")
    if query.end is not None:
        conditions.append(f"a.at < ({p(query.end)}::date + 1)::timestamp AT TIME ZONE {p(query.timezone)}")
    if query.user_id == 0:
        conditions.append("a.user_id IS NULL")
    elif query.user_id is not None:
        conditions.append(f"a.user_id = {p(query.user_id)}")
    if query.entity:
        conditions.append(f"a.entity = {p(query.entity)}")
    if query.entity_id is not None:
        conditions.append(f"a.entity_id = {p(query.entity_id)}")
    if query.action:
        conditions.append(f"a.action = {p(query.action)}")
    if query.address is not None:
        conditions.append(f"a.address <<= {p(str(query.address))}::inet")
    return (" AND ".join(conditions) or "true"), args


_COLUMNS = """a.id, a.at, a.user_id, u.full_name AS user_name, u.login AS user_login, host(a.address) AS address,
              a.entity, a.entity_id, a.action, a.changes, a.canonical"""


async def count(conn: asyncpg.Connection, query: AuditQuery) -> tuple[int, bool]:
    """How many rows match, at most COUNT_CAP; and whether there are more."""
    condition, args = where(query)
    n = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM audit_log a WHERE {condition} "
                            f"LIMIT {COUNT_CAP + 1}) x", *args)
    return min(n, COUNT_CAP), n > COUNT_CAP


async def rows(conn: asyncpg.Connection, query: AuditQuery) -> list[asyncpg.Record]:
    condition, args = where(query)
    n = len(args)
    return await conn.fetch(
        f"""SELECT {_COLUMNS} FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE {condition}
            ORDER BY a.at DESC, a.id DESC LIMIT ${n + 1} OFFSET ${n + 2}""",
        *args, query.size, (query.page - 1) * query.size)


def batches(conn: asyncpg.Connection, query: AuditQuery, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching row, newest first, through a server-side cursor."""
    condition, args = where(query)
    return db.batches(conn, f"""SELECT {_COLUMNS} FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
                                WHERE {condition} ORDER BY a.at DESC, a.id DESC""", args, size)


async def entities(conn: asyncpg.Connection) -> list[str]:
    """The kinds of things the log has rows on, for the filter's choice."""
    return [r["entity"] for r in await conn.fetch(
        """WITH RECURSIVE e AS (
               (SELECT entity FROM audit_log ORDER BY entity LIMIT 1)
               UNION ALL
               SELECT (SELECT entity FROM audit_log WHERE entity > e.entity ORDER BY entity LIMIT 1) FROM e
               WHERE e.entity IS NOT NULL)
           SELECT entity FROM e WHERE entity IS NOT NULL""")]
