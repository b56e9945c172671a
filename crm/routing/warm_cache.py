"""The caller lookup's indexes and rows read into PostgreSQL's cache as a process starts
(issue 25): with pg_prewarm, when the database has the extension (scripts/pg.sh installs it in
the private cluster; README, "PostgreSQL settings", for a cluster of your own).

What is read is chosen so that it fits: the indexes first, then the tables, as long as all of
it takes at most half of shared_buffers - reading more than the cache holds would only push
out what was there (the 128 MB default holds none of the 1M-client indexes' 150 MB).
Without the extension nothing is read and the pages warm up with use."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.routing import queries as routing_q

log = logging.getLogger(__name__)

# What the lookup (crm/routing/queries.py _LOOKUP, crm.counterparties.queries.number_owner_sql) reads
# on each call, most used first: the number's index, the cards' key, the company memberships.
LOOKUP_INDEXES = ("contacts_normalized_extension_key", "counterparties_pkey", "company_members_client_idx",
                  "counterparty_tags_pkey")
LOOKUP_TABLES = ("contacts", "counterparties", "company_members", "counterparty_tags")
CACHE_SHARE = 0.5  # at most this part of shared_buffers


@dataclass(frozen=True)
class Relation:
    name: str
    size: int  # bytes


def to_warm(indexes: list[Relation], tables: list[Relation], cache_bytes: int) -> list[Relation]:
    """The relations to read, in order: each index that fits, then, when all of them did, each table
    that still fits (a table's rows are no use in the cache while the index that finds them is not)."""
    room = int(cache_bytes * CACHE_SHARE)
    chosen: list[Relation] = []
    for relation in indexes:
        if relation.size <= room:
            chosen.append(relation)
            room -= relation.size
    if len(chosen) < len(indexes):
        return chosen
    for relation in tables:
        if relation.size <= room:
            chosen.append(relation)
            room -= relation.size
    return chosen


async def warm_lookup(pool: asyncpg.Pool) -> int | None:
    """Read the lookup's relations that fit (above) into shared_buffers; the pages read, or None
    (no pg_prewarm in this database, or it did not answer). Takes well under a second at 1M clients."""
    try:
        async with pool.acquire(timeout=5) as conn:
            if not await routing_q.has_prewarm(conn):
                log.info("pg_prewarm is not installed in this database: the lookup's indexes warm up with use "
                         "(README, PostgreSQL settings)")
                return None
            cache = await routing_q.shared_buffers_bytes(conn)
            sizes = await routing_q.relation_sizes(conn, [*LOOKUP_INDEXES, *LOOKUP_TABLES])
            indexes = [Relation(n, sizes[n]) for n in LOOKUP_INDEXES if n in sizes]
            tables = [Relation(n, sizes[n]) for n in LOOKUP_TABLES if n in sizes]
            chosen = to_warm(indexes, tables, cache)
            pages = 0
            for relation in chosen:
                pages += await routing_q.prewarm(conn, relation.name)
    except DATABASE_ERRORS as e:
        log.warning("lookup indexes not prewarmed (%s)", type(e).__name__)
        return None
    except asyncpg.PostgresError as e:  # no right to read a relation, say
        log.warning("lookup indexes not prewarmed: %s", e)
        return None
    left = [r.name for r in [*indexes, *tables] if r not in chosen]
    log.info("lookup cache warmed: %d pages of %s%s", pages, ", ".join(r.name for r in chosen) or "nothing",
             f" (not {', '.join(left)}: more than half of shared_buffers)" if left else "")
    return pages
