"""Screen pop (H5, issue 20): when a colleague answers a call that rang several members, the others'
pops close. The app (fake ARI, real database) sends them "taken"; the browser hides the pop of that call.
When the caller hangs up before anyone answers (or the call moves on), every member's pop is told "ended"
and closes after saying why."""

from __future__ import annotations

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


async def test_the_other_ringing_members_are_told_the_call_was_taken(db, crm, fake, start_app, database_url):
    await no_recording(db)
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    pops = await Pops().listen(database_url)
    try:
        await start_app()
        caller = await fake.incoming(STRANGER)
        await fake.next_originate("PJSIP/103")
        lebedev_leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
        await fake.answer(lebedev_leg)
        await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
        await fake.wait_for(lambda: (crm["petrov"]["id"], "taken") in pops.seen, what="the taken pop")
        await fake.hang_up(caller)
        await ended_row(db, caller)
    finally:
        await pops.close()
    # Every pop names the queue the call came through: the browser shows that queue's call script.
    queue = crm["queue"]
    assert pops.of(crm["petrov"]["id"]) == [("ringing", queue), ("taken", queue)]
    assert pops.of(lebedev["id"]) == [("ringing", queue), ("answered", queue)]


async def test_the_ringing_members_are_told_the_call_ended_when_the_caller_hangs_up(db, crm, fake, start_app,
                                                                                   database_url):
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    pops = await Pops().listen(database_url)
    try:
        await start_app()
        caller = await fake.incoming(STRANGER)
        await fake.next_originate("PJSIP/103")
        await fake.next_originate("PJSIP/104")
        await fake.wait_for(lambda: (lebedev["id"], "ringing") in pops.seen, what="the ringing pops")
        await fake.hang_up(caller)
        await ended_row(db, caller)
        await fake.wait_for(lambda: (lebedev["id"], "ended") in pops.seen, what="the ended pops")
    finally:
        await pops.close()
    queue = crm["queue"]
    assert pops.of(crm["petrov"]["id"]) == [("ringing", queue), ("ended", queue)]
    assert pops.of(lebedev["id"]) == [("ringing", queue), ("ended", queue)]
    assert pops.details(lebedev["id"]) == ["", "hung_up"]


async def test_a_taken_call_closes_the_pop_in_the_browser_and_leaves_another_calls_open(web_server, chromium, db):
    from crm.pops.events import PopEvent, notify

    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    page = await logged_in_page(chromium, web_server.url, "petrov", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(petrov["id"], "ringing", "ch.1", "incoming", "84997654321", None, ""))
        await page.wait_for_selector("#screen-pop[data-channel='ch.1']")
        # Another call's "taken" leaves this pop alone; this call's closes it.
        await notify(conn, PopEvent(petrov["id"], "taken", "ch.2", "incoming", "84990000000", None, ""))
        await notify(conn, PopEvent(petrov["id"], "ringing", "ch.1", "incoming", "84997654321", None, ""))
    await page.wait_for_function("(window.pbxcrmPops || []).length >= 3")
    assert await page.is_visible("#screen-pop")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(petrov["id"], "taken", "ch.1", "incoming", "84997654321", None, ""))
    await page.wait_for_selector("#screen-pop", state="hidden")
    assert await page.get_attribute("#screen-pop", "data-event") == "taken"


async def test_an_ended_call_says_the_caller_hung_up_then_closes_the_pop(web_server, chromium, db):
    from crm.pops.events import PopEvent, notify

    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    page = await logged_in_page(chromium, web_server.url, "petrov", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(petrov["id"], "ringing", "ch.1", "incoming", "84997654321", None, ""))
        await page.wait_for_selector("#screen-pop[data-channel='ch.1']")
        # Another call's "ended" leaves this pop alone.
        await notify(conn, PopEvent(petrov["id"], "ended", "ch.2", "incoming", "84990000000", None, "", "hung_up"))
        await notify(conn, PopEvent(petrov["id"], "ended", "ch.1", "incoming", "84997654321", None, "", "hung_up"))
    await page.wait_for_selector("#screen-pop[data-event=ended] .pop-ended")
    assert await page.inner_text("#screen-pop .pop-ended") == "The caller hung up"
    assert await page.is_visible("#screen-pop")
    await page.wait_for_selector("#screen-pop", state="hidden", timeout=5_000)
    assert [p["event"]["channel_id"] for p in await page.evaluate("window.pbxcrmPops")] == ["ch.1", "ch.2", "ch.1"]
