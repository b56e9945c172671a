"""The PostgreSQL connection pool shared by every process's requests, and reading a query in batches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10,
                      command_timeout: float = 10.0, node: str = "") -> asyncpg.Pool:
    server_settings = {"synchronize_seqscans": "off"}
    if node:
        # More than one PBX (issue 26): the node this process serves, which calls.node's default reads
        # (migration 0053), so every call it logs says where it came in without a parameter of its own.
        server_settings["pbxcrm.node"] = node
    return await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        # Keep connect attempts short: callers on the call path have their own budget.
        timeout=5.0,
        # A scan of a table starts at its first page, not where another scan is (issue 25): rows put in
        # together sit together (the companies of an import), and a capped count over them (the lists'
        # "10,000+") that joins a scan half-way through the table read most of it to find them.
        server_settings=server_settings,
    )


# The one definition of "the database is not there right now": the server is
# down, restarting, refusing connections or slow past our timeout, or asyncpg
# holds a connection the server has just dropped (InternalClientError). Worth
# retrying; on the call path, a reason to route without the CRM.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # TimeoutError (asyncio's too, since 3.11) and refused connections
    asyncpg.PostgresConnectionError,  # CannotConnectNow, TooManyConnections, ...
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
# Anything the database can answer with, unavailable or not: for callers that
# must go on whatever the query's fate (the call path, background loops).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)


async def ping(conn: asyncpg.Connection) -> None:
    """A round trip to the server, for the health check."""
    await conn.fetchval("SELECT 1")


async def batches(conn: asyncpg.Connection, sql: str, args: Sequence, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every row of `sql`, `size` at a time, through a server-side cursor (exports of any length in flat
    memory). A cursor lives in a transaction: the caller's connection holds one while it is read."""
    async with conn.transaction():
        cursor = await conn.cursor(sql, *args)
        while rows := await cursor.fetch(size):
            yield rows
