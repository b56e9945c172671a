"""SQL for the Excel exports: every row of a list, read in batches through a cursor."""

from __future__ import annotations

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
