"""SQL for the Excel exports: every row of a list, read in batches through a cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from crm.counterparties.listing import ListQuery, export_sql
from crm.db import batches


def counterparty_batches(conn: asyncpg.Connection, query: ListQuery, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every row the list's filters select, in its order (crm/counterparties/listing.py export_sql)."""
    sql, args = export_sql(query)
    return batches(conn, sql, args, size)
