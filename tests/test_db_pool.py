"""The pool's connections (crm/db.py) scan a table from its first page (issue 25), also after the pool's reset."""

from __future__ import annotations

from crm.db import create_pool


async def test_the_pools_connections_do_not_join_other_scans_even_after_a_reset(database_url):
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW synchronize_seqscans") == "off"
            await conn.execute("SET synchronize_seqscans = on")
        async with pool.acquire() as conn:  # the same connection, reset by the pool
            assert await conn.fetchval("SHOW synchronize_seqscans") == "off"
    finally:
        await pool.close()
