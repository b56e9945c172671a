"""Screen pop (H5, issue 20): when a colleague answers a call that rang several members, the others'
pops close. The app (fake ARI, real database) sends them "taken"; the browser hides the pop of that call.
When the caller hangs up before anyone answers (or the call moves on), every member's pop is told "ended"
and closes after saying why."""

from __future__ import annotations

import contextlib

from tests.browser import logged_in_page
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    STRANGER,
    Pops,
    bridged,
    ended_row,
    fake,
    no_recording,
    spec,
    start_app,
)
from tests.helpers import PASSWORD, make_user


@contextlib.asynccontextmanager
async def both_ringing(db, crm, fake, start_app, database_url):
    """Lebedev (104) in the queue with Petrov (103), and a stranger's call ringing them both: yields
    (the pops recorder, Lebedev, the caller's channel, Lebedev's leg)."""
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    pops = await Pops().listen(database_url)
    try:
        await start_app()
        caller = await fake.incoming(STRANGER)
        await fake.next_originate("PJSIP/103")
        lebedev_leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
        yield pops, lebedev, caller, lebedev_leg
    finally:
        await pops.close()


async def ringing_pop(web_server, chromium, db):
    """Petrov's page with call ch.1's pop ringing, and `pop(event, channel, detail)` to send him more."""
    from crm.pops.events import PopEvent, notify

    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    page = await logged_in_page(chromium, web_server.url, "petrov", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")

    async def pop(event: str, channel: str, detail: str = "") -> None:
        number = "84997654321" if channel == "ch.1" else "84990000000"
        async with db.acquire() as conn:
            await notify(conn, PopEvent(petrov["id"], event, channel, "incoming", number, None, "", detail))

    await pop("ringing", "ch.1")
    await page.wait_for_selector("#screen-pop[data-channel='ch.1']")
    return page, pop


async def test_the_other_ringing_members_are_told_the_call_was_taken(db, crm, fake, start_app, database_url):
    await no_recording(db)
    async with both_ringing(db, crm, fake, start_app, database_url) as (pops, lebedev, caller, lebedev_leg):
        await fake.answer(lebedev_leg)
        await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
        await fake.wait_for(lambda: (crm["petrov"]["id"], "taken") in pops.seen, what="the taken pop")
        await fake.hang_up(caller)
        await ended_row(db, caller)
    # Every pop names the queue the call came through: the browser shows that queue's call script.
    queue = crm["queue"]
    assert pops.of(crm["petrov"]["id"]) == [("ringing", queue), ("taken", queue)]
    assert pops.of(lebedev["id"]) == [("ringing", queue), ("answered", queue)]


async def test_the_ringing_members_are_told_the_call_ended_when_the_caller_hangs_up(db, crm, fake, start_app,
                                                                                   database_url):
    async with both_ringing(db, crm, fake, start_app, database_url) as (pops, lebedev, caller, _):
        await fake.wait_for(lambda: (lebedev["id"], "ringing") in pops.seen, what="the ringing pops")
        await fake.hang_up(caller)
        await ended_row(db, caller)
        await fake.wait_for(lambda: (lebedev["id"], "ended") in pops.seen, what="the ended pops")
    queue = crm["queue"]
    assert pops.of(crm["petrov"]["id"]) == [("ringing", queue), ("ended", queue)]
    assert pops.of(lebedev["id"]) == [("ringing", queue), ("ended", queue)]
    assert pops.details(lebedev["id"]) == ["", "hung_up"]


async def test_a_taken_call_closes_the_pop_in_the_browser_and_leaves_another_calls_open(web_server, chromium, db):
    page, pop = await ringing_pop(web_server, chromium, db)
    # Another call's "taken" leaves this pop alone; this call's closes it.
    await pop("taken", "ch.2")
    await pop("ringing", "ch.1")
    await page.wait_for_function("() => (window.pbxcrmPops || []).length >= 3")  # a function: the CSP forbids eval
    assert await page.is_visible("#screen-pop")
    await pop("taken", "ch.1")
    await page.wait_for_selector("#screen-pop", state="hidden")
    assert await page.get_attribute("#screen-pop", "data-event") == "taken"


async def test_an_ended_call_says_the_caller_hung_up_then_closes_the_pop(web_server, chromium, db):
    page, pop = await ringing_pop(web_server, chromium, db)
    # Another call's "ended" leaves this pop alone.
    await pop("ended", "ch.2", "hung_up")
    await pop("ended", "ch.1", "hung_up")
    await page.wait_for_selector("#screen-pop[data-event=ended] .pop-ended")
    assert await page.inner_text("#screen-pop .pop-ended") == "The caller hung up"
    assert await page.is_visible("#screen-pop")
    await page.wait_for_selector("#screen-pop", state="hidden", timeout=5_000)
    assert [p["event"]["channel_id"] for p in await page.evaluate("window.pbxcrmPops")] == ["ch.1", "ch.2", "ch.1"]
