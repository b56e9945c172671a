"""Greetings and IVR menus on the call path (issue 15), against the fake ARI (tests/fake_ari.py).

A line routes to menu Main (Asterisk's sample menu prompt): 1 rings Petrov, 2 queue Support
(Oleg Lebedev, 104), 9 menu Sales, 0 hangs up; pressing nothing for 1 s takes the timeout
route. The caller presses keys as ChannelDtmfReceived; prompts end with PlaybackFinished.
"""

from __future__ import annotations

import asyncio
import json

from crm.greetings import queries as greetings_q
from crm.ivr import queries as ivr_q
from crm.ivr.model import MenuInput
from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from crm.queues import queries as queues_q
from crm.queues.model import QueueInput
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    bridged,
    ended_row,
    fake,
    in_order,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.helpers import make_user

DID = "74957770000"
MAIN_PROMPT = "sound:basic-pbx-ivr-main"


async def _support(db, crm) -> int:
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        return await queues_q.save_queue(conn, crm["ivanova"]["id"], None, QueueInput(
            "Support", ring_seconds=5, max_wait_seconds=20, member_ids=(lebedev["id"],)))


async def _menu(db, crm, name: str = "Main", **fields) -> int:
    async with db.acquire() as conn:
        return await ivr_q.save_menu(conn, crm["ivanova"]["id"], None, MenuInput(**{
            "name": name, "prompt": "sound:basic-pbx-ivr-main", "timeout_seconds": 1, **fields}))


async def _line(db, crm, menu: int, **fields) -> int:
    async with db.acquire() as conn:
        return await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(**{
            "name": "Promo", "trunk": "trunk", "did": DID, "route_kind": "ivr", "route_menu_id": menu, **fields}))


async def _main(db, crm, **fields) -> tuple[int, int]:
    """Menu Main on line Promo; (its id, queue Support's id)."""
    support = await _support(db, crm)
    keys = {"1": f"user:{crm['petrov']['id']}", "2": f"queue:{support}", "0": "hangup", **fields.pop("keys", {})}
    menu = await _menu(db, crm, keys=keys, **fields)
    await _line(db, crm, menu, language="ru")
    return menu, support


def _plays(fake, caller: str) -> list[dict]:
    return [r.query for r in fake.calls_to("POST", f"/channels/{caller}/play")]


async def _wait_plays(fake, caller: str, n: int) -> list[dict]:
    await fake.wait_for(lambda: len(_plays(fake, caller)) >= n, what=f"{n} prompts played")
    return _plays(fake, caller)


async def test_digit_2_reaches_queue_support_and_the_route_says_so(db, crm, fake, start_app):
    await no_recording(db)
    _menu_id, support = await _main(db, crm)
    await start_app()
    caller = await fake.incoming(CLIENT, called=DID)
    (play,) = await _wait_plays(fake, caller, 1)
    assert (play["media"], play["lang"]) == (MAIN_PROMPT, "ru"), "the menu in the line's language"
    assert fake.calls_to("POST", f"/channels/{caller}/answer"), "answered to hear the menu"
    await fake.press(caller, "2")
    leg = (await fake.next_originate("PJSIP/104")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Support")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert (row["queue_id"], row["status"], row["counterparty_id"]) == (support, "answered", crm["client"])
    assert route(row) == [("menu", "menu Main", "pressed 2"), ("queue", "queue Support", "answered by Oleg Lebedev after 0 s")]
    assert not fake.originated("PJSIP/102"), "the client's manager is not rung: the caller chose"


async def test_a_key_interrupts_the_prompt_and_a_phone_rung_after_the_menu_gives_ringback(db, crm, fake, start_app):
    await no_recording(db)
    await _main(db, crm)
    fake.playback_lengths[MAIN_PROMPT] = 30  # a long menu: the key stops it
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    (play,) = await _wait_plays(fake, caller, 1)
    await fake.press(caller, "1")
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    assert fake.calls_to("DELETE", f"/playbacks/{play['playbackId']}"), "the key stopped the menu"
    # The first ring is the ringback while the CRM looked the caller up, before the menu answered.
    await fake.wait_for(lambda: len(fake.calls_to("POST", f"/channels/{caller}/ring")) == 2,
                        what="ringback after the menu")
    commands = fake.commands(caller)
    channel = f"/channels/{caller}"
    assert in_order(commands, [f"POST {channel}/ring", f"DELETE {channel}/ring", f"POST {channel}/answer",
                               f"POST {channel}/play", f"POST {channel}/ring"]), commands
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Petrov")
    assert fake.calls_to("DELETE", f"/channels/{caller}/ring"), "ringback stops when the phone answers"
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [("menu", "menu Main", "pressed 1"), ("user", "user Pavel Petrov", "answered")]


async def test_an_invalid_digit_replays_the_menu_then_the_timeout_route_takes_the_call(db, crm, fake, start_app):
    await no_recording(db)
    await _main(db, crm, replays=1, timeout_route=f"user:{crm['petrov']['id']}")
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, caller, 1)
    await fake.press(caller, "7")
    plays = await _wait_plays(fake, caller, 2)
    assert plays[1]["media"] == f"sound:pm-invalid-option,{MAIN_PROMPT}", "says so, then plays the menu again"
    await fake.press(caller, "8")  # wrong again, and the menu plays again only once
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    assert len(_plays(fake, caller)) == 2
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Petrov")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert route(row) == [("menu", "menu Main", "invalid digit 7"), ("menu", "menu Main", "invalid digit 8"),
                          ("user", "user Pavel Petrov", "answered")]


async def test_no_digit_takes_the_timeout_route(db, crm, fake, start_app):
    await no_recording(db)
    await _main(db, crm)  # its timeout route: the CRM's routing (the default)
    await start_app()
    caller = await fake.incoming(CLIENT, called=DID)
    await _wait_plays(fake, caller, 1)
    # Nothing pressed: after the 1 s wait the CRM's routing rings the client's manager, Ivanova.
    leg = (await fake.next_originate("PJSIP/102", timeout=4)).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Ivanova")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [("menu", "menu Main", "no digit in 1 s"), ("manager", "manager Irina Ivanova", "answered")]


async def test_a_key_whose_queue_was_deleted_sends_the_call_to_the_default_queue_and_says_why(
        db, crm, fake, start_app):
    await no_recording(db)
    _menu_id, support = await _main(db, crm)
    async with db.acquire() as conn:
        await queues_q.delete_queue(conn, crm["ivanova"]["id"], support)
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, caller, 1)
    await fake.press(caller, "2")
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]  # Petrov answers the default queue
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with the default queue")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert route(row) == [
        ("menu", "menu Main", "pressed 2"),
        ("menu", "menu Main", "routes to queue Support, which is deleted: the default queue takes the call"),
        ("queue", "queue Default", "answered by Pavel Petrov after 0 s")]


async def test_a_submenu_is_played_in_turn_and_one_deleted_meanwhile_goes_to_the_default_queue(
        db, crm, fake, start_app):
    await no_recording(db)
    sales = await _menu(db, crm, "Sales", prompt="sound:hello", keys={"1": f"user:{crm['petrov']['id']}"})
    await _main(db, crm, keys={"9": f"ivr:{sales}"})
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, caller, 1)
    await fake.press(caller, "9")
    plays = await _wait_plays(fake, caller, 2)
    assert plays[1]["media"] == "sound:hello"
    await fake.press(caller, "1")
    leg = (await fake.next_originate("PJSIP/103")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Petrov")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert route(row) == [("menu", "menu Main", "pressed 9"), ("menu", "menu Sales", "pressed 1"),
                          ("user", "user Pavel Petrov", "answered")]

    # Deleted behind the menus' back (the admin's page refuses it while Main leads there).
    async with db.acquire() as conn:
        await conn.execute("UPDATE ivr_menus SET deleted_at = now() WHERE id = $1", sales)
        await conn.execute("SELECT pg_notify('pbxcrm_routing', 'test')")
    await asyncio.sleep(1.0)  # the cache reloads on the NOTIFY
    caller = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, caller, 1)
    await fake.press(caller, "9")
    leg = (await fake.next_originate("PJSIP/103", after=1)).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with the default queue")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert route(row)[:2] == [
        ("menu", "menu Main", "pressed 9"),
        ("menu", "menu Main", "routes to menu Sales, which is deleted: the default queue takes the call")]
    assert len(_plays(fake, caller)) == 1


async def test_a_known_client_skips_the_menu_straight_to_the_manager_when_the_line_says_so(
        db, crm, fake, start_app):
    await no_recording(db)
    support = await _support(db, crm)
    menu = await _menu(db, crm, keys={"2": f"queue:{support}"})
    await _line(db, crm, menu, skip_menu_for_known=True)
    await start_app()
    caller = await fake.incoming(CLIENT, called=DID)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    assert _plays(fake, caller) == [] and not fake.calls_to("POST", f"/channels/{caller}/answer")
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Ivanova")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [("menu", "menu Main", "skipped, the known client goes straight to manager Irina Ivanova"),
                          ("manager", "manager Irina Ivanova", "answered")]
    # A stranger hears the menu.
    stranger = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, stranger, 1)
    await fake.hang_up(stranger)
    row = await ended_row(db, stranger)
    assert row["status"] == "missed" and route(row)[0][0:2] == ("menu", "menu Main")
    assert route(row)[0][2].startswith("caller hung up after")


async def test_a_menu_may_let_known_clients_skip_it_itself(db, crm, fake, start_app):
    await no_recording(db)
    await _main(db, crm, skip_known=True)
    await start_app()
    caller = await fake.incoming(CLIENT, called=DID)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    assert _plays(fake, caller) == []
    await fake.hang_up(caller)
    await fake.wait_gone(leg)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[0] == ("menu", "menu Main", "skipped, the known client goes straight to manager Irina Ivanova")


async def test_a_lines_greeting_plays_to_the_end_before_the_crm_routing(db, crm, fake, start_app, tmp_path):
    await no_recording(db)
    async with db.acquire() as conn:
        greeting = await greetings_q.insert_greeting(conn, crm["ivanova"]["id"], name="Welcome", file="greeting-abc",
                                                     original_name="welcome.mp3", seconds=2.5)
        await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(
            name="Promo", trunk="trunk", did=DID, greeting_id=greeting))
    fake.playback_lengths["sound:/snd/pbxcrm/greeting-abc"] = 0.5
    await start_app(greetings_asterisk_dir="/snd/pbxcrm")
    caller = await fake.incoming(CLIENT, called=DID)
    (play,) = await _wait_plays(fake, caller, 1)
    assert play["media"] == "sound:/snd/pbxcrm/greeting-abc"
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    finished = [e for e in fake.events if e["type"] == "PlaybackFinished"]
    assert finished and finished[0]["playback"]["id"] == play["playbackId"], "rung once the greeting ended"
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with Ivanova")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row) == [("greeting", "greeting Welcome", "was played"),
                          ("manager", "manager Irina Ivanova", "answered")]


async def test_the_hang_up_key_says_goodbye_and_hangs_up(db, crm, fake, start_app):
    await _main(db, crm)
    await start_app()
    caller = await fake.incoming(STRANGER, called=DID)
    await _wait_plays(fake, caller, 1)
    await fake.press(caller, "0")
    plays = await _wait_plays(fake, caller, 2)
    gone = await fake.wait_gone(caller)
    assert (plays[1]["media"], plays[1]["lang"]) == ("sound:goodbye", "ru") and gone["cause"] == 16
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "missed" and not fake.originated()
    assert route(row) == [("menu", "menu Main", "pressed 0"), ("note", "", "the caller heard goodbye and was hung up")]
    assert json.loads(row["route"])[0]["code"] == "menu_pressed"
