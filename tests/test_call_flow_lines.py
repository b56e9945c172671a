"""Lines and DIDs on the call path (issue 15), against the fake ARI (tests/fake_ari.py).

A call enters Stasis with the number it dialled (`inbound,<DID>`); the app finds its line
in the routing cache (crm/routing/view.py), follows the line's route in business hours or
its after-hours route out of them, and logs the call with its line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from crm.lines.schedule import Holiday, Interval
from crm.queues import queries as queues_q
from crm.queues.model import QueueInput
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    bridged,
    count,
    ended_row,
    fake,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.fast_clock import fast_clock
from tests.helpers import make_user

DID = "74957770000"


async def _line(db, admin_id: int, **fields) -> int:
    async with db.acquire() as conn:
        return await lines_q.save_line(conn, admin_id, None, LineInput(**{
            "name": "Promo", "trunk": "trunk", "did": DID, **fields}))


async def _promo_queue(db, crm) -> tuple[int, dict]:
    """Queue Promo team, answered by Oleg Lebedev (extension 104)."""
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        queue = await queues_q.save_queue(conn, crm["ivanova"]["id"], None, QueueInput(
            "Promo team", ring_seconds=5, max_wait_seconds=20, member_ids=(lebedev["id"],)))
    return queue, lebedev


def _today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo("Europe/Moscow")).date()


async def test_a_did_mapped_to_a_queue_rings_that_queues_phones_and_the_call_has_the_line(db, crm, fake, start_app):
    await no_recording(db)
    queue, lebedev = await _promo_queue(db, crm)
    line = await _line(db, crm["ivanova"]["id"], route_kind="queue", route_queue_id=queue)
    await start_app()
    # A known client: without the line Irina Ivanova's phone would ring.
    caller = await fake.incoming(CLIENT, called=f"+{DID}")
    leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with the Promo team")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert not fake.originated("PJSIP/102") and not fake.originated("PJSIP/103")
    assert row["line_id"] == line and row["queue_id"] == queue and row["operator_user_id"] == lebedev["id"]
    assert row["counterparty_id"] == crm["client"], "the caller is still recognised"
    assert route(row) == [("queue", "queue Promo team", "answered by Oleg Lebedev after 0 s")]


async def test_a_did_mapped_to_a_user_rings_that_users_phone(db, crm, fake, start_app):
    await no_recording(db)
    line = await _line(db, crm["ivanova"]["id"], route_kind="user", route_user_id=crm["petrov"]["id"])
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    dial = await fake.next_originate("PJSIP/103")
    assert dial.query["timeout"] == "3", "a line's user rings for the managers' ring time"
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Petrov")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["line_id"] == line and row["operator_user_id"] == crm["petrov"]["id"]
    assert route(row) == [("user", "user Pavel Petrov", "answered")]


async def test_out_of_hours_the_call_takes_the_after_hours_route(db, crm, fake, start_app):
    await no_recording(db)
    queue, _lebedev = await _promo_queue(db, crm)
    # Business hours on, no opening hours on any day: closed whenever the test runs.
    await _line(db, crm["ivanova"]["id"], route_kind="queue", route_queue_id=queue, hours_enabled=True,
                after_hours_kind="user", after_hours_user_id=crm["petrov"]["id"])
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Petrov")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert not fake.originated("PJSIP/104"), "the line's own queue is not rung out of hours"
    assert route(row) == [("line", "line Promo", "is closed (after hours)"), ("user", "user Pavel Petrov", "answered")]


async def test_on_a_holiday_the_closed_prompt_plays_in_the_lines_language_and_the_app_hangs_up(
        db, crm, fake, start_app):
    every_day = ((Interval(dt.time(0, 0), dt.time(0, 0)),),) * 7  # open all week, but for the holiday
    await _line(db, crm["ivanova"]["id"], language="ru", hours_enabled=True, weekly=every_day,
                holidays=(Holiday(_today(), "Den' goroda"),), after_hours_kind="hangup")
    with fast_clock(asyncio.get_running_loop(), 10):
        app = await start_app()
        caller = await fake.incoming(CLIENT, called=DID)
        play = await fake.wait_request("POST", f"/channels/{caller}/play", timeout=5)
        gone = await fake.wait_gone(caller, timeout=5)
        row = await ended_row(db, caller, steps=2)
        await app.stop()
    assert play.query == {"media": "sound:im-sorry,sound:pls-try-call-later", "lang": "ru"}
    assert fake.calls_to("POST", f"/channels/{caller}/answer"), "answered to hear the prompt"
    assert gone["cause"] == 16 and not fake.originated(), "nobody's phone rings"
    assert row["status"] == "missed"
    assert route(row) == [("line", "line Promo", "is closed for Den' goroda"),
                          ("note", "", "the caller heard the closed prompt and was hung up")]


async def test_a_lines_queue_deleted_after_it_was_saved_sends_the_call_to_the_default_queue(
        db, crm, fake, start_app):
    await no_recording(db)
    queue, _lebedev = await _promo_queue(db, crm)
    await _line(db, crm["ivanova"]["id"], route_kind="queue", route_queue_id=queue)
    async with db.acquire() as conn:
        await queues_q.delete_queue(conn, crm["ivanova"]["id"], queue)
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with the default queue")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [
        ("line", "line Promo", "routes to queue Promo team, which is deleted: the default queue takes the call"),
        ("queue", "queue Default", "answered by Pavel Petrov after 0 s")]


async def test_a_number_without_a_line_takes_the_crms_routing_as_before(db, crm, fake, start_app):
    await no_recording(db)
    await _line(db, crm["ivanova"]["id"], route_kind="user", route_user_id=crm["petrov"]["id"])
    await start_app()
    for after, (called, trunk) in enumerate([("74950000000", "PJSIP/trunk"), (DID, "PJSIP/trunk2")]):
        caller = await fake.incoming(CLIENT, called=called, line=trunk)
        await fake.next_originate("PJSIP/102", after=after)
        source = f"channel:{caller}"
        await fake.wait_for(lambda: source in fake.subscriptions, what="the app watching the caller")  # noqa: B023
        await fake.hang_up(caller)
        row = await ended_row(db, caller)
        assert row["line_id"] is None and route(row)[0][1] == "manager Irina Ivanova"
    assert not fake.originated("PJSIP/103")


async def test_a_line_saved_while_the_app_runs_routes_the_next_call_at_once(db, crm, fake, start_app):
    """NOTIFY: the cache reloads when a line changes, not at its next refresh (every 5 s)."""
    await no_recording(db)
    await start_app()
    await asyncio.sleep(0.3)  # the app's LISTEN is up
    await _line(db, crm["ivanova"]["id"], route_kind="user", route_user_id=crm["petrov"]["id"])
    await asyncio.sleep(1.0)
    caller = await fake.incoming(CLIENT, called=DID)
    await fake.next_originate("PJSIP/103")
    await fake.wait_for(lambda: f"channel:{caller}" in fake.subscriptions, what="the app watching the caller")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["line_id"] is not None
    assert await count(db, "SELECT count(*) FROM calls") == 1
