"""SQL for the shop order pages (issue 24, K1): the Orders list with its filters (source, status, period,
counterparty, sum, the card's tags), its count and its Excel export, one order with its lines, status
history and calls, a card's orders. Every read keeps to what crm/shop_orders/permissions.visible_sql lets
the reader see; filters are built from whitelisted columns with $n parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from crm.calls import queries as calls_q
from crm.db import batches
from crm.defaults import DEFAULT_TIMEZONE
from crm.errors import NotFound
from crm.i18n import _
from crm.list_conditions import counterparty_or_members, period
from crm.shop_orders.permissions import visible_sql
from crm.tags import tag_conditions

COUNT_CAP = 10_000


@dataclass(frozen=True)
class ShopOrderQuery:
    source_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    counterparty_id: int | None = None
    min_total: Decimal | None = None
    max_total: Decimal | None = None
    open_only: bool = False
    tag_ids: tuple[int, ...] = ()
    without_tag_ids: tuple[int, ...] = ()
    page: int = 1
    size: int = 50
    timezone: str = DEFAULT_TIMEZONE


def where(query: ShopOrderQuery, user: Mapping) -> tuple[str, list]:
    """The SQL condition over o (shop_orders) and cp (its card), and its parameters from $1."""
    args: list = []

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    conditions = [visible_sql(user), *period(p, "coalesce(o.ordered_at, o.created_at)", query.start, query.end,
                                             query.timezone)]
    if query.source_ids:
        conditions.append(f"o.source_id = ANY({p(list(query.source_ids))}::bigint[])")
    if query.statuses:
        conditions.append(f"o.status = ANY({p(list(query.statuses))}::text[])")
    if query.counterparty_id is not None:
        conditions.append(counterparty_or_members(p, "o.counterparty_id", query.counterparty_id))
    if query.min_total is not None:
        conditions.append(f"o.total >= {p(query.min_total)}")
    if query.max_total is not None:
        conditions.append(f"o.total <= {p(query.max_total)}")
    if query.open_only:
        conditions.append("o.is_open")
    conditions += tag_conditions(p, "o.counterparty_id", "counterparty", query.tag_ids, query.without_tag_ids)
    return " AND ".join(f"({c})" for c in conditions), args


_FROM = """shop_orders o JOIN shop_sources s ON s.id = o.source_id
           LEFT JOIN counterparties cp ON cp.id = o.counterparty_id"""
_COLUMNS = """o.id, o.number, o.external_id, o.status, o.is_open, o.total, o.currency, o.paid, o.paid_at, o.cancelled,
              o.ordered_at, o.created_at, o.updated_at, o.customer_name, o.phone, o.phone_normalized, o.email,
              o.address, o.problem, o.counterparty_id, cp.display_name AS counterparty_name,
              cp.deleted_at AS counterparty_deleted_at, o.source_id, s.name AS source_name"""
_ORDER = "ORDER BY coalesce(o.ordered_at, o.created_at) DESC, o.id DESC"


async def count(conn: asyncpg.Connection, query: ShopOrderQuery, user: Mapping) -> int:
    condition, args = where(query, user)
    n = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {_FROM} WHERE {condition} LIMIT {COUNT_CAP + 1}) t",
                            *args)
    return min(n, COUNT_CAP)


async def page(conn: asyncpg.Connection, query: ShopOrderQuery, user: Mapping) -> list[asyncpg.Record]:
    condition, args = where(query, user)
    n = len(args)
    return await conn.fetch(f"SELECT {_COLUMNS} FROM {_FROM} WHERE {condition} {_ORDER} LIMIT ${n + 1} OFFSET ${n + 2}",
                            *args, query.size, (query.page - 1) * query.size)


def export_batches(conn: asyncpg.Connection, query: ShopOrderQuery, user: Mapping,
                   size: int) -> AsyncIterator[list[asyncpg.Record]]:
    condition, args = where(query, user)
    return batches(conn, f"SELECT {_COLUMNS} FROM {_FROM} WHERE {condition} {_ORDER}", args, size)


async def get(conn: asyncpg.Connection, user: Mapping, order_id: int) -> asyncpg.Record:
    """The order if the user may see it; NotFound alike for one that does not exist and one not theirs."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE o.id = $1 AND {visible_sql(user)}", order_id)
    if row is None:
        raise NotFound(_("no such shop order"))
    return row


async def lines(conn: asyncpg.Connection, order_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM shop_order_lines WHERE shop_order_id = $1 ORDER BY position", order_id)


async def history(conn: asyncpg.Connection, order_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM shop_order_status_history WHERE shop_order_id = $1 ORDER BY at, id",
                            order_id)


async def calls(conn: asyncpg.Connection, order_id: int, visible: tuple[str, list],
                limit: int = 50) -> list[asyncpg.Record]:
    """The order's calls the user may see: `visible` is the call rules' condition over calls c with its
    parameters from $1 (web/call_rules.visible)."""
    return await calls_q.linked_calls(conn, "shop_order_id", order_id, visible, limit)


async def of_card(conn: asyncpg.Connection, counterparty_id: int, user: Mapping,
                  limit: int = 10) -> list[asyncpg.Record]:
    """The card's latest orders (a company's: its clients' too), for the card's section."""
    return await page(conn, ShopOrderQuery(counterparty_id=counterparty_id, size=limit), user)


async def choices(conn: asyncpg.Connection) -> dict[str, list]:
    """What the list's filters offer: the sources, the statuses seen."""
    return {"sources": await conn.fetch("SELECT id, name FROM shop_sources ORDER BY lower(name), id"),
            "statuses": [r["status"] for r in await conn.fetch(
                "SELECT DISTINCT status FROM shop_orders WHERE status <> '' ORDER BY status LIMIT 200")]}

