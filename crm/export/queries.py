"""SQL for the Excel exports: every row of a list, read in batches through a cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg

from crm.counterparties.listing import ListQuery, export_sql


async def _batches(conn: asyncpg.Connection, sql: str, args: list, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    async with conn.transaction():  # a cursor lives in a transaction
        cursor = await conn.cursor(sql, *args)
        while rows := await cursor.fetch(size):
            yield rows


def counterparty_batches(conn: asyncpg.Connection, query: ListQuery, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every row the list's filters select, in its order (crm/counterparties/listing.py export_sql)."""
    sql, args = export_sql(query)
    return _batches(conn, sql, args, size)


CALL_LOG_SQL = """
    SELECT c.started_at, c.direction, c.caller_number, c.called_number, c.line, c.status, c.wait_seconds,
           c.talk_seconds, c.route, c.comment, cp.display_name AS counterparty_name, u.full_name AS operator_name,
           coalesce(l.name, c.line) AS line_name
    FROM calls c LEFT JOIN counterparties cp ON cp.id = c.counterparty_id
    LEFT JOIN lines l ON l.id = c.line_id
    LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
    WHERE c.started_at >= ($1::date::timestamp AT TIME ZONE $3::text)
      AND c.started_at < (($2::date + 1)::timestamp AT TIME ZONE $3::text)
      AND {visible}
    ORDER BY c.started_at DESC"""


def call_log_batches(conn: asyncpg.Connection, start: dt.date, end: dt.date, zone: str, size: int,
                     visible: tuple[str, list] = ("true", [])) -> AsyncIterator[list[asyncpg.Record]]:
    """The call log from start to end (days on the call centre's clock, both included), newest first;
    only the calls the user may see (`visible`: crm/calls/rules_sql.condition from $4)."""
    return _batches(conn, CALL_LOG_SQL.replace("{visible}", visible[0]), [start, end, zone, *visible[1]], size)
