"""The PBX's copy of the routing data (users' dial strings, the default queue, the language): written
off the path of the events when the Stasis app (re)connects (issue 25: 1,000 users with dial strings of
their own took half a minute of ARI writes, the websocket's pongs went unread and the link was dropped,
the copy written again, for ever)."""

import asyncio

from crm.routing.view import CrmView


async def test_a_refresh_without_mirroring_reads_the_data_and_leaves_the_copy_to_the_next_refresh(db):
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO users (login, full_name, password_hash, role, extension, dial) "
                           "VALUES ('mirror-me', 'Mirror Me', 'x', 'manager', '4321', 'SIP/4321')")
    crm = CrmView(db, 300, refresh_seconds=60)
    written: list[dict] = []

    async def mirror(dials):
        written.append(dict(dials))

    crm.on_dials(mirror)
    assert await crm.refresh(mirror=False)
    assert crm.dial_of("4321") == "SIP/4321" and written == []
    crm.changed()  # what the app does after it: the background refresh writes the copy
    fresh = asyncio.create_task(crm.keep_fresh())
    try:
        for _ in range(100):
            if written:
                break
            await asyncio.sleep(0.02)
        assert written == [{"4321": "SIP/4321"}]
    finally:
        fresh.cancel()
        await asyncio.gather(fresh, return_exceptions=True)
