"""PostgreSQL's own profile of a bench part: which statements took its time (pg_stat_statements, when the
server preloads it; scripts/pg.sh does for the private cluster). Without it the profile is empty."""

from __future__ import annotations

import re

import asyncpg

TOP = 5


async def start(conn: asyncpg.Connection) -> bool:
    """Counts from zero for this database's statements; False when the server does not keep them."""
    if "pg_stat_statements" not in (await conn.fetchval("SHOW shared_preload_libraries")):
        return False
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
                       "WHERE datname = current_database()), 0)")
    return True


async def top(conn: asyncpg.Connection, n: int = TOP) -> list[dict]:
    """This database's `n` statements with the most execution time since start(): the statement (its first
    words, white space folded), calls, total and mean ms, rows."""
    rows = await conn.fetch(
        """SELECT query, calls, total_exec_time, mean_exec_time, rows FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND query NOT LIKE '%pg_stat_statements%'
           ORDER BY total_exec_time DESC LIMIT $1""", n)
    return [{"query": re.sub(r"\s+", " ", r["query"]).strip(), "calls": r["calls"], "total_ms": r["total_exec_time"],
             "mean_ms": r["mean_exec_time"], "rows": r["rows"]} for r in rows]


def summary(query: str, width: int = 90) -> str:
    """A statement in a table cell: its start and, when that is only columns, what it reads FROM."""
    if len(query) <= width:
        return query
    head = query[:width // 2].rstrip()
    at = query.upper().find(" FROM ", width // 2)
    tail = query[at + 1:at + 1 + width // 2].rstrip() if at >= 0 else query[width // 2:width].rstrip()
    return f"{head} … {tail}"
