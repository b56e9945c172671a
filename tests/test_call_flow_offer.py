"""Voicemail and callback requests instead of a hang-up (issue 15), against the fake ARI
(tests/fake_ari.py): a queue whose longest wait passes offers its caller "press 1 to be called
back" and/or voicemail; a line may route to voicemail. Each path leaves one complete call row
whose route says what came of the offer.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from crm.ivr import queries as ivr_q
from crm.ivr.model import MenuInput
from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    count,
    ended_row,
    fake,
    route,
    spec,
    start_app,
)
from tests.fake_ari import silent_wav, tone_wav
from tests.fast_clock import fast_clock, real_monotonic

OFFER_BOTH = "sound:vm-nobodyavail,sound:vm-tocallnum"
DID = "74957770000"


async def _queue_nobody_answers(db, crm, fake, offer: str) -> None:
    """Petrov's phone is offline: the default queue's 5 s pass with nobody to ring."""
    fake.add_phone("103", "offline")
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2, offer = $2 WHERE id = $1",
                           crm["queue"], offer)


async def _offered(fake, caller: str, number: str = CLIENT) -> dict:
    """The caller waits out the queue (the client's manager is busy first); the offer's play request."""
    if number == CLIENT:
        await fake.hang_up((await fake.next_originate("PJSIP/102")).query["channelId"], cause=17)
    return (await fake.wait_request("POST", f"/channels/{caller}/play", timeout=10)).query


def _plays(fake, caller: str) -> list[str]:
    return [r.query["media"] for r in fake.calls_to("POST", f"/channels/{caller}/play")]


async def _voicemail(db, call_id: int):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM voicemails WHERE call_id = $1", call_id)


async def _wait_voicemail(db, call_id: int, timeout: float = 15.0):
    """The call's voicemail once stored (mp3 made off the call path) with its callback task."""
    deadline = real_monotonic() + timeout
    while (row := await _voicemail(db, call_id)) is None or row["task_id"] is None:
        assert real_monotonic() < deadline, f"no voicemail stored for call {call_id}"
        await asyncio.sleep(0.05)
    return row


async def _tasks(db, call_id: int):
    async with db.acquire() as conn:
        return await conn.fetch("SELECT * FROM tasks WHERE call_id = $1", call_id)


# ---- press 1 to be called back ----

async def test_a_client_who_presses_1_asks_for_a_callback_and_the_app_thanks_and_hangs_up(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "callback")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        play = await _offered(fake, caller)
        assert play == {"media": OFFER_BOTH, "lang": "en", "playbackId": play["playbackId"]}
        assert not fake.channels[caller].moh, "the music stops for the offer"
        await fake.press(caller, "1")
        gone = await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert gone["cause"] == 16, "the app hangs up after the thank-you"
    assert _plays(fake, caller)[-1] == "sound:auth-thankyou,sound:vm-goodbye"
    assert row["status"] == "callback" and row["answered_at"] is None
    # The wallboard's facts (issue 18): the caller waited in the queue, then left it for the offer; the
    # manager's phone rang before (its ring is over).
    assert row["queued_at"] is not None and row["queue_left_at"] >= row["queued_at"]
    assert row["ringing_user_ids"] == [] and row["ringing_at"] is not None
    assert route(row)[1:] == [("queue", "queue Default", "nobody answered in 5 s"),
                              ("note", "", "callback requested")]
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1 and tasks[0]["responsible_user_id"] == crm["ivanova"]["id"]
    assert tasks[0]["title"] == "Call back Sokolov Ivan"
    assert tasks[0]["remark"].startswith(f"{CLIENT} asked to be called back at ")
    assert await count(db, "SELECT count(*) FROM calls") == 1


async def test_a_callback_offer_nobody_answers_is_made_twice_then_the_caller_hears_goodbye(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "callback")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        gone = await fake.wait_gone(caller, timeout=10)  # 6 s for a key, twice, then goodbye
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert gone["cause"] == 16
    assert _plays(fake, caller) == [OFFER_BOTH, "sound:vm-tocallnum", "sound:vm-goodbye"]
    assert row["status"] == "missed"
    assert route(row)[-1] == ("note", "", "no callback requested: the caller was hung up")
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1 and tasks[0]["remark"].startswith("Missed call from "), "a missed call's task as before"


async def test_a_caller_who_hangs_up_during_the_offer_is_a_missed_call(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "both")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        await fake.hang_up(caller)
        row = await ended_row(db, caller, steps=3)
        await asyncio.sleep(0.3)
        await app.stop()
    assert row["status"] == "missed"
    assert route(row)[-1] == ("note", "", "the caller hung up during the offer")
    assert not fake.calls_to("POST", f"/channels/{caller}/record")
    assert len(await _tasks(db, row["id"])) == 1


# ---- voicemail ----

async def test_a_caller_who_presses_nothing_leaves_a_voicemail_kept_as_mp3_with_a_callback_task(
        db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "both")
    fake.caller_audio = tone_wav(3.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        record = await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.press(caller, "#")  # done: '#' ends the message
        gone = await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=3)
        voicemail = await _wait_voicemail(db, row["id"])
        await app.stop()
    assert record.query["beep"] == "true" and record.query["terminateOn"] == "#"
    assert record.query["maxDurationSeconds"] == "120" and record.query["format"] == "wav"
    assert _plays(fake, caller) == [OFFER_BOTH, "sound:vm-intro", "sound:vm-msgsaved,sound:vm-goodbye"]
    assert gone["cause"] == 16
    assert route(row)[-1] == ("note", "", "voicemail left (3 s)")
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM calls WHERE id = $1", row["id"])
    assert row["status"] == "voicemail"
    assert (voicemail["counterparty_id"], voicemail["number"], voicemail["queue_id"]) == (
        crm["client"], CLIENT, crm["queue"])
    assert voicemail["format"] == "mp3" and 2.9 <= float(voicemail["seconds"]) <= 3.1
    head = Path(voicemail["path"]).read_bytes()[:3]
    # An ID3 tag (pydub), or an MPEG audio frame's sync word with layer III (LAME: MPEG 2.5 at 8 kHz).
    assert head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE6 == 0xE2), f"an mp3 file: {head!r}"
    tasks = await _tasks(db, row["id"])
    assert [t["id"] for t in tasks] == [voicemail["task_id"]]
    assert tasks[0]["responsible_user_id"] == crm["ivanova"]["id"]
    assert tasks[0]["remark"].startswith(f"{CLIENT} left a voicemail at ")
    assert not fake.stored, "Asterisk's copy is deleted"


async def test_a_message_under_a_second_is_no_voicemail_and_the_route_says_so(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    fake.caller_audio = tone_wav(0.5)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.press(caller, "#")
        await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert _plays(fake, caller) == ["sound:vm-nobodyavail", "sound:vm-intro", "sound:vm-tooshort,sound:vm-goodbye"]
    assert route(row)[-1] == ("note", "", "the voicemail was too short (0.5 s): none kept")
    assert row["status"] == "missed" and await _voicemail(db, row["id"]) is None
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1 and tasks[0]["remark"].startswith("Missed call from ")


async def test_a_silent_message_is_no_voicemail(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    fake.caller_audio = silent_wav(4.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(STRANGER)
        await _offered(fake, caller, STRANGER)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.press(caller, "#")
        await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=2)
        await app.stop()
    assert route(row)[-1] == ("note", "", "the voicemail was silent: none kept")
    assert row["status"] == "missed" and await _voicemail(db, row["id"]) is None


async def test_a_caller_who_hangs_up_while_recording_leaves_the_message_and_one_complete_call(
        db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    fake.caller_audio = tone_wav(2.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.hang_up(caller)  # hanging up ends the message
        row = await ended_row(db, caller, steps=3)
        voicemail = await _wait_voicemail(db, row["id"])
        await app.stop()
    assert route(row)[-1] == ("note", "", "voicemail left (2 s)")
    async with db.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM calls WHERE id = $1", row["id"])
    assert status == "voicemail" and voicemail["format"] == "mp3"
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1 and "left a voicemail at" in tasks[0]["remark"]
    assert "Missed call" not in tasks[0]["remark"], "not also a plain missed call"
    assert _plays(fake, caller) == ["sound:vm-nobodyavail", "sound:vm-intro"], "nothing played to a gone caller"
    assert await count(db, "SELECT count(*) FROM calls") == 1


async def test_a_strangers_voicemail_is_a_task_the_queue_holds(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    fake.caller_audio = tone_wav(1.5)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(STRANGER)
        await _offered(fake, caller, STRANGER)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.press(caller, "#")
        row = await ended_row(db, caller, steps=2)
        voicemail = await _wait_voicemail(db, row["id"])
        await asyncio.sleep(0.3)  # the end's writes: no missed call's task besides
        await app.stop()
    assert voicemail["counterparty_id"] is None and voicemail["number"] == STRANGER
    assert voicemail["queue_id"] == crm["queue"], "the queue whose members may play it"
    (task,) = await _tasks(db, row["id"])
    assert task["id"] == voicemail["task_id"]
    assert (task["queue_id"], task["responsible_user_id"], task["callback_number"]) == (crm["queue"], None, STRANGER)
    assert [e["reason"] for e in json.loads(task["callback_events"])] == ["voicemail"]


async def test_a_stranger_who_presses_1_leaves_a_task_the_queue_holds(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "both")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(STRANGER)
        await _offered(fake, caller, STRANGER)
        await fake.press(caller, "1")
        await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=2)
        await asyncio.sleep(0.3)
        await app.stop()
    assert row["status"] == "callback" and route(row)[-1] == ("note", "", "callback requested")
    (task,) = await _tasks(db, row["id"])
    assert (task["queue_id"], task["responsible_user_id"]) == (crm["queue"], None)
    assert [e["reason"] for e in json.loads(task["callback_events"])] == ["callback_requested"]


async def test_asterisk_refusing_to_record_sends_the_caller_to_the_default_queue(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    fake.refuse_recording = (422, "The format specified is unknown on this system")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        await fake.wait_for(lambda: caller in fake.continued, timeout=10, what="the caller handed to the dialplan")
        await fake.hang_up(caller)
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert fake.continued[caller]["context"] == "pbxcrm-default-queue"
    kind, target, result = route(row)[-1]
    assert (kind, target) == ("queue", "default queue (dialplan)")
    assert result.startswith("voicemail could not be recorded (") and "unknown on this system" in result


async def test_a_recording_asterisk_fails_is_no_voicemail_and_the_route_says_why(db, crm, fake, start_app):
    await _queue_nobody_answers(db, crm, fake, "voicemail")
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app(lookup_budget_ms=9000)
        caller = await fake.incoming(CLIENT)
        await _offered(fake, caller)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=10)
        await fake.fail_recording(caller, "No space left on device")
        gone = await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=3)
        await app.stop()
    assert gone["cause"] == 16 and _plays(fake, caller)[-1] == "sound:vm-goodbye"
    assert route(row)[-1] == ("note", "", "the voicemail could not be stored (No space left on device)")
    assert row["status"] == "missed" and await _voicemail(db, row["id"]) is None
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1 and tasks[0]["remark"].startswith("Missed call from "), "the manager still calls back"


# ---- a line's voicemail route ----

async def _line(db, crm, **fields) -> int:
    async with db.acquire() as conn:
        return await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(**{
            "name": "Promo", "trunk": "trunk", "did": DID, **fields}))


async def test_out_of_hours_a_line_routes_to_voicemail_in_its_language(db, crm, fake, start_app):
    # Business hours on, no opening hours on any day: closed whenever the test runs.
    await _line(db, crm, language="ru", hours_enabled=True, after_hours_kind="voicemail")
    fake.caller_audio = tone_wav(3.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app()
        caller = await fake.incoming(CLIENT, called=DID)
        play = (await fake.wait_request("POST", f"/channels/{caller}/play", timeout=5)).query
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=5)
        await fake.press(caller, "#")
        await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=2)
        voicemail = await _wait_voicemail(db, row["id"])
        await app.stop()
    assert (play["media"], play["lang"]) == ("sound:vm-nobodyavail", "ru")
    assert not fake.originated(), "nobody's phone rings"
    assert route(row) == [("line", "line Promo", "is closed (after hours)"),
                          ("note", "", "voicemail left (3 s)")]
    assert voicemail["counterparty_id"] == crm["client"] and voicemail["queue_id"] is None
    assert [t["id"] for t in await _tasks(db, row["id"])] == [voicemail["task_id"]]


async def test_a_line_routed_to_voicemail_in_hours_takes_the_message_at_once(db, crm, fake, start_app):
    await _line(db, crm, route_kind="voicemail")
    fake.caller_audio = tone_wav(2.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app()
        caller = await fake.incoming(STRANGER, called=DID)
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=5)
        await fake.press(caller, "#")
        row = await ended_row(db, caller, steps=1)
        voicemail = await _wait_voicemail(db, row["id"])
        await app.stop()
    assert route(row) == [("note", "", "voicemail left (2 s)")]
    assert json.loads(row["route"])[0]["code"] == "voicemail_left"
    # A stranger on a line with no queue: the default queue's task, and its members may play the message.
    assert voicemail["queue_id"] == crm["queue"]


async def test_an_ivr_key_routed_to_voicemail_takes_the_message(db, crm, fake, start_app):
    async with db.acquire() as conn:
        menu = await ivr_q.save_menu(conn, crm["ivanova"]["id"], None, MenuInput(
            name="Main", prompt="sound:basic-pbx-ivr-main", timeout_seconds=1, keys={"3": "voicemail"}))
    await _line(db, crm, route_kind="ivr", route_menu_id=menu)
    fake.caller_audio = tone_wav(2.0)
    with fast_clock(asyncio.get_running_loop(), 20):
        app = await start_app()
        caller = await fake.incoming(CLIENT, called=DID)
        await fake.wait_request("POST", f"/channels/{caller}/play", timeout=5)
        await fake.press(caller, "3")
        await fake.wait_request("POST", f"/channels/{caller}/record", timeout=5)
        await fake.press(caller, "#")
        await fake.wait_gone(caller, timeout=10)
        row = await ended_row(db, caller, steps=2)
        voicemail = await _wait_voicemail(db, row["id"])
        await app.stop()
    assert _plays(fake, caller) == ["sound:basic-pbx-ivr-main", "sound:vm-nobodyavail", "sound:vm-intro",
                                    "sound:vm-msgsaved,sound:vm-goodbye"]
    assert route(row) == [("menu", "menu Main", "pressed 3"), ("note", "", "voicemail left (2 s)")]
    assert voicemail["counterparty_id"] == crm["client"]
