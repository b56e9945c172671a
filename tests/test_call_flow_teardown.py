"""A call that comes in as the last one ends is routed before the last one's teardown (issue 25,
ari_app/call_path.py), against the fake ARI (tests/fake_ari.py): the last call's recording is
fetched and its end written only after the next call's first dial - and both calls still leave
their complete rows and the recording."""

from __future__ import annotations

import asyncio

import ari_app.call_path
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    ended_row,
    fake,
    route,
    spec,
    start_app,
)


async def test_the_next_call_is_dialled_before_the_last_calls_recording_is_fetched_or_its_end_written(
        db, crm, fake, start_app, monkeypatch):
    monkeypatch.setattr(ari_app.call_path, "MAX_WAIT", 10.0)  # only the next call's first dial lets it go
    app = await start_app(lookup_budget_ms=9000)
    first = await fake.incoming(CLIENT)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    await fake.answer(leg)
    bridge = f"pbxcrm-{first}"
    await fake.wait_for(lambda: fake.live, what="the conversation recorded")
    recording = fake.calls_to("POST", f"/bridges/{bridge}/record")[0].query["name"]

    # The next caller's lookup is held up (the contacts locked) well past the teardown's settle.
    async with db.acquire() as locker:
        async with locker.transaction():
            await locker.execute("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
            await fake.hang_up(first)
            second = await fake.incoming(STRANGER)
            await asyncio.sleep(0.6)
            assert not fake.calls_to("GET", f"/recordings/stored/{recording}/file"), \
                "the last call's recording waits for the next call's lookup"
            async with db.acquire() as conn:
                assert await conn.fetchval("SELECT ended_at FROM calls WHERE channel_id = $1", first) is None, \
                    "and so does its end"
    dial = await fake.next_originate("PJSIP/103", timeout=5)  # the stranger goes to the queue: Petrov rings
    fetch = await fake.wait_request("GET", f"/recordings/stored/{recording}/file", timeout=5)
    # The fetch waited for the whole routing: the lookup, the queue, the phone's check, the decision to
    # dial (the first dial the bench times); the originate itself is on its way at the same moment.
    checked = [i for i, r in enumerate(fake.requests) if (r.method, r.path) == ("GET", "/endpoints/PJSIP/103")]
    assert checked and checked[0] < fake.requests.index(fetch) and checked[0] < fake.requests.index(dial)

    row = await ended_row(db, first)
    assert row["status"] == "answered" and route(row) == [("manager", "manager Irina Ivanova", "answered")]
    await fake.hang_up(second)
    assert (await ended_row(db, second))["status"] == "missed"
    await app.stop()  # the recording fetched, converted and linked
    async with db.acquire() as conn:
        stored = await conn.fetch("SELECT r.* FROM recordings r JOIN calls c ON c.id = r.call_id "
                                  "WHERE c.channel_id = $1", first)
    assert len(stored) == 1 and stored[0]["format"] == "mp3" and stored[0]["error"] is None
    assert fake.calls_to("DELETE", f"/recordings/stored/{recording}"), "Asterisk's copy deleted"
