"""The PostgreSQL connection pool shared by every process's requests."""

from __future__ import annotations

import asyncpg


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10,
                      command_timeout: float = 10.0) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        # Keep connect attempts short: callers on the call path have their own budget.
        timeout=5.0,
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
