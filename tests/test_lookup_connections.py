"""The call path's own lookup connections: warm, reused, replaced when the server drops them."""

from crm.routing import queries as routing_q
from crm.routing.lookup_connections import APPLICATION_NAME, LookupConnections
from crm.routing.view import CrmView
from tests.helpers import ivanova_and_her_client


async def _client(db) -> int:
    _, client = await ivanova_and_her_client(db)
    return client


async def _backends(db) -> list[int]:
    async with db.acquire() as conn:
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME)]


async def test_lookups_run_on_warm_connections_that_are_reused(db, database_url):
    client = await _client(db)
    lookups = LookupConnections(database_url, routing_q.prepare_lookup, size=2)
    crm = CrmView(db, 300, lookups=lookups)
    try:
        await crm.refresh()  # opens and warms them before any caller
        assert lookups.open == 2
        warmed = set(await _backends(db))
        assert len(warmed) == 2
        for _ in range(10):
            facts, failure = await crm.lookup("+74951234567")
            assert failure is None and facts.counterparty_id == client
        assert set(await _backends(db)) == warmed
        assert lookups.open == 2
    finally:
        await lookups.close()


async def test_a_connection_the_server_dropped_is_replaced_for_the_next_caller(db, database_url):
    client = await _client(db)
    lookups = LookupConnections(database_url, routing_q.prepare_lookup, size=1)
    crm = CrmView(db, 300, lookups=lookups)
    try:
        await crm.refresh()
        [old] = await _backends(db)
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", old)
        facts, failure = await crm.lookup("+74951234567")
        # The first caller after the drop may see it (the socket closes as we use it); the next must not.
        if failure is not None:
            assert "unavailable" in failure
            facts, failure = await crm.lookup("+74951234567")
        assert failure is None and facts.counterparty_id == client
        assert (await _backends(db)) != [old] and lookups.open == 1
    finally:
        await lookups.close()
