"""SQL for the import pages: a user's recent jobs and one job."""

from __future__ import annotations

import asyncpg


async def recent_jobs(conn: asyncpg.Connection, user_id: int, limit: int = 10) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM import_jobs WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                            user_id, limit)


async def job(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM import_jobs WHERE id = $1", job_id)
