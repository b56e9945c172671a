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
