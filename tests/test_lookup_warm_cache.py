"""The caller lookup's indexes read into PostgreSQL's cache as a process starts (issue 25,
crm/routing/warm_cache.py): what fits, with pg_prewarm where the database has it."""

from __future__ import annotations

import logging

from crm.routing.warm_cache import LOOKUP_INDEXES, LOOKUP_TABLES, Relation, to_warm, warm_lookup

MB = 1024 * 1024
NUMBER, CARDS, MEMBERS = Relation("number index", 110 * MB), Relation("cards key", 24 * MB), Relation("members", 15 * MB)
CONTACTS, COUNTERPARTIES = Relation("contacts", 240 * MB), Relation("counterparties", 430 * MB)


def test_indexes_first_then_tables_while_half_the_cache_holds_them():
    indexes, tables = [NUMBER, CARDS, MEMBERS], [CONTACTS, COUNTERPARTIES]
    # 6 GB (a 24 GB machine's private cluster): everything.
    assert to_warm(indexes, tables, 6 * 1024 * MB) == [*indexes, *tables]
    # 1 GB: the indexes and the contacts (149 + 240 MB of 512); the cards' table no longer fits.
    assert to_warm(indexes, tables, 1024 * MB) == [*indexes, CONTACTS]
    # The 128 MB default: the number's index does not fit; the small ones do, and no table.
    assert to_warm(indexes, tables, 128 * MB) == [CARDS, MEMBERS]
    assert to_warm(indexes, tables, 0) == []


def test_the_relations_named_are_the_ones_the_lookup_reads():
    assert LOOKUP_INDEXES[0] == "contacts_normalized_extension_key" and "counterparties" in LOOKUP_TABLES


async def test_without_pg_prewarm_nothing_is_read_and_the_log_says_why(db, caplog):
    async with db.acquire() as conn:
        await conn.execute("DROP EXTENSION IF EXISTS pg_prewarm")
    with caplog.at_level(logging.INFO, logger="crm.routing.warm_cache"):
        assert await warm_lookup(db) is None
    assert "pg_prewarm is not installed" in caplog.text


async def test_with_pg_prewarm_the_lookups_relations_are_read_into_shared_buffers(db, caplog):
    async with db.acquire() as conn:
        # Debian's PostgreSQL, which the project installs, ships it: a server without it fails here, never skips.
        assert await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'"), \
            "this PostgreSQL has no pg_prewarm (Debian's postgresql package has it)"
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    try:
        with caplog.at_level(logging.INFO, logger="crm.routing.warm_cache"):
            pages = await warm_lookup(db)
        # Empty tables in the test database: their indexes' metapages and root pages.
        assert pages is not None and pages >= len(LOOKUP_INDEXES)
        assert "lookup cache warmed" in caplog.text and "contacts_normalized_extension_key" in caplog.text
    finally:
        async with db.acquire() as conn:
            await conn.execute("DROP EXTENSION IF EXISTS pg_prewarm")
