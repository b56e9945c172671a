import asyncpg
import pytest

from crm.migrate import load_migrations, migrate


async def test_migrating_twice_changes_nothing_the_second_time(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        # The session fixture migrated already: nothing is left to apply.
        assert await migrate(conn) == []
        recorded = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [r["name"] for r in recorded] == [m.name for m in load_migrations()]
        schema = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'")
        assert await migrate(conn) == []
        assert await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'") == schema
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(database_url, tmp_path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE mig_good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE mig_half (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA migtest; SET search_path = migtest")
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, tmp_path)
        assert [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")] == [1]
        assert await conn.fetchval("SELECT to_regclass('migtest.mig_half')") is None
        assert await conn.fetchval("SELECT to_regclass('migtest.mig_good')") is not None
    finally:
        await conn.execute("DROP SCHEMA migtest CASCADE")
        await conn.close()


def test_migration_files_are_numbered_without_gaps_or_twins():
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_contact_values_are_unique_across_the_whole_base(db):
    async with db.acquire() as conn:
        a = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'A') RETURNING id")
        b = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', 'B') RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '8 495 123-45-67', '+74951234567')", a)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                               "VALUES ($1, 'phone', '+7 495 1234567', '+74951234567')", b)


async def test_extensions_let_one_main_number_sit_on_cards_with_different_extensions(db):
    async with db.acquire() as conn:
        a = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'A') RETURNING id")
        b = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', 'B') RETURNING id")
        insert = ("INSERT INTO contacts (counterparty_id, kind, value, normalized, extension) "
                  "VALUES ($1, $2, '8 495 123-45-67', $3, $4)")
        await conn.execute(insert, a, "phone", "+74951234567", "123")
        await conn.execute(insert, b, "phone", "+74951234567", None)
        await conn.execute(insert, b, "phone", "+74951234567", "200")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, b, "phone", "+74951234567", "123")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, a, "email", "a@b.ru", "1")


async def test_migration_0017_keeps_existing_contacts_as_they_were(database_url, tmp_path):
    """Applied to a base with contacts, it adds an empty extension and changes nothing else."""
    migrations = load_migrations()
    for m in migrations:
        if m.version < 17:
            (tmp_path / m.name).write_text(m.sql)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA mig17; SET search_path = mig17, public")
        await migrate(conn, tmp_path)
        cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'A') RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '8 495 123-45-67', '+74951234567')", cid)
        before = await conn.fetch("SELECT id, kind, value, normalized FROM contacts")
        m17 = next(m for m in migrations if m.version == 17)
        (tmp_path / m17.name).write_text(m17.sql)
        assert await migrate(conn, tmp_path) == [m17.name]
        after = await conn.fetch("SELECT id, kind, value, normalized, extension FROM contacts")
        assert [tuple(r.values())[:4] for r in after] == [tuple(r.values()) for r in before]
        assert [r["extension"] for r in after] == [None]
    finally:
        await conn.execute("DROP SCHEMA mig17 CASCADE")
        await conn.close()
