"""Dialling through the fake ARI (issue 15): outbound numbers and click-to-call through the
admin's dial rules and their trunks; users' phones rung by their own dial strings (SIP, Local,
4-digit extensions); follow me to a manager's mobile as a step of the inbound chain."""

from __future__ import annotations

import json

from crm.dialing import queries as dialing_q
from crm.dialing.rules import RuleInput
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    bridged,
    ended_row,
    fake,
    no_recording,
    route,
    spec,
    start_app,
)
from tests.helpers import make_user

MOBILE = "+79161234567"


async def _rules(db, *rules: RuleInput) -> None:
    async with db.acquire() as conn:
        admin = await conn.fetchval("SELECT id FROM users ORDER BY id LIMIT 1")
        for rule in rules:
            await dialing_q.save_rule(conn, admin, None, rule)


async def _phone(db, user_id: int, *, dial=None, mobile=None, follow_me_seconds=None) -> None:
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET dial = $2, mobile = $3, follow_me_seconds = $4 WHERE id = $1",
                           user_id, dial, mobile, follow_me_seconds)


PLUS7_TO_8 = RuleInput(pattern="+7XXXXXXXXXX", strip=2, prepend="8", position=20)
MOBILES_VIA_TRUNK2 = RuleInput(pattern="+79XXXXXXXXX", strip=2, prepend="8", trunk="trunk2", position=10)


# ---- outbound numbers through the dial rules ----

async def test_an_outbound_call_goes_out_rewritten_by_the_first_matching_rule_through_its_trunk(db, crm, fake,
                                                                                              start_app):
    await no_recording(db)
    await _rules(db, PLUS7_TO_8, MOBILES_VIA_TRUNK2)
    await start_app()
    caller = await fake.incoming("102", args=["outbound", "+74951234567"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/84951234567@trunk")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["direction"] == "outgoing" and row["counterparty_id"] == crm["client"]
    assert row["called_number"] == "+74951234567"  # the log keeps the number as dialled
    assert route(row) == [("outgoing", "+74951234567 (Sokolov Ivan)", "answered")]
    step = json.loads(row["route"])[0]
    assert (step["dialled"], step["trunk"]) == ("84951234567", "trunk")

    # A mobile: the earlier rule (order 10) sends it through trunk2; a number no rule knows goes out as dialled.
    caller = await fake.incoming("102", args=["outbound", "89161234567"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/89161234567@trunk2")
    await fake.hang_up(dial.query["channelId"], cause=17)
    await fake.wait_gone(caller)
    caller = await fake.incoming("102", args=["outbound", "0911"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/0911@trunk")
    await fake.hang_up(dial.query["channelId"], cause=17)
    row = await ended_row(db, caller)
    assert "dialled" not in json.loads(row["route"])[0]


async def test_click_to_call_dials_the_clients_number_through_the_rules(db, crm, fake, start_app):
    from crm.clicktocall import queries as c2c_q

    await no_recording(db)
    await _rules(db, PLUS7_TO_8)
    await start_app()
    async with db.acquire() as conn:
        request_id = await c2c_q.request_call(conn, user=crm["ivanova"], number="+7 495 123-45-67",
                                              requested_by=crm["ivanova"]["id"], region="RU")
    await fake.next_originate("PJSIP/102")
    await fake.answer(f"c2c-{request_id}")
    dial = await fake.next_originate("PJSIP/84951234567@trunk")
    await fake.hang_up(dial.query["channelId"], cause=17)
    row = await ended_row(db, f"c2c-{request_id}")
    assert row["direction"] == "outgoing" and row["counterparty_id"] == crm["client"]


# ---- users' phones: their own dial strings, extensions of any length ----

async def test_a_four_digit_extension_is_internal_and_rung_where_its_user_says(db, crm, fake, start_app):
    kozlov = await make_user(db, "kozlov", "manager", full_name="Oleg Kozlov", extension="1001")
    await _phone(db, kozlov["id"], dial="SIP/1001")
    fake.add_phone("SIP/1001")
    await start_app()
    # The dialplan did not know 1001 for a phone (purpose outbound): the app knows its user.
    caller = await fake.incoming("102", args=["outbound", "1001"], line="PJSIP/102")
    dial = await fake.next_originate("SIP/1001")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert row["direction"] == "internal" and route(row) == [("internal", "extension 1001 (Oleg Kozlov)", "answered")]
    assert not fake.originated("PJSIP/1001@trunk")
    # Kozlov's own calls out are his: the caller is known by the extension.
    caller = await fake.incoming("1001", args=["outbound", "84951234567"], line="SIP/1001")
    dial = await fake.next_originate("PJSIP/84951234567@trunk")
    await fake.hang_up(dial.query["channelId"], cause=17)
    row = await ended_row(db, caller)
    assert row["caller_user_id"] == kozlov["id"] and row["direction"] == "outgoing"


async def test_a_managers_phone_of_another_technology_is_checked_and_rung_there(db, crm, fake, start_app):
    await _phone(db, crm["ivanova"]["id"], dial="SIP/102")
    fake.add_phone("SIP/102")
    await start_app()
    caller = await fake.incoming(CLIENT)
    dial = await fake.next_originate("SIP/102")
    assert fake.calls_to("GET", "/endpoints/SIP/102"), "its state is asked of its own technology"
    assert not fake.originated("PJSIP/102")
    await fake.answer(dial.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged")
    await fake.hang_up(caller)
    row = await ended_row(db, caller)
    assert route(row) == [("manager", "manager Irina Ivanova", "answered")]
    assert row["operator_user_id"] == crm["ivanova"]["id"]


async def test_a_local_channel_has_no_state_to_ask_and_counts_as_free(db, crm, fake, start_app):
    await _phone(db, crm["ivanova"]["id"], dial="Local/102@desk-phones/n")
    await start_app()
    caller = await fake.incoming(CLIENT)
    dial = await fake.next_originate("Local/102@desk-phones/n")
    assert not fake.calls_to("GET", "/endpoints/Local/.*")
    await fake.hang_up(dial.query["channelId"], cause=19)
    await fake.next_originate("PJSIP/103")  # then the default queue, as ever
    await fake.hang_up(caller)


async def test_the_dialplans_fallbacks_get_each_phones_dial_string(db, crm, fake, start_app):
    await _phone(db, crm["petrov"]["id"], dial="IAX2/office-103")
    kozlov = await make_user(db, "kozlov", "manager", full_name="Oleg Kozlov", extension="1001")
    await _phone(db, kozlov["id"], dial="SIP/1001")
    await start_app()
    # The default queue (Petrov) as the dialplan rings it without the app, and the phones it puts
    # through by themselves (dialplan/pbxcrm.conf [pbxcrm-phones]).
    await fake.wait_for(lambda: fake.astdb.get("default_dial") == "IAX2/office-103", what="default queue")
    assert fake.astdb["phone_1001"] == "SIP/1001" and fake.astdb["phone_103"] == "IAX2/office-103"
    assert "phone_102" not in fake.astdb  # PJSIP/102: the dialplan's own default


# ---- follow me ----

async def test_follow_me_rings_the_mobile_through_the_rules_when_the_desk_does_not_answer(db, crm, fake, start_app):
    await no_recording(db)
    await _rules(db, PLUS7_TO_8)
    await _phone(db, crm["ivanova"]["id"], mobile=MOBILE, follow_me_seconds=7)
    await start_app()
    caller = await fake.incoming(CLIENT)
    desk = await fake.next_originate("PJSIP/102")
    assert desk.query["timeout"] == "7", "the desk rings the user's follow-me seconds"
    await fake.hang_up(desk.query["channelId"], cause=19)  # nobody at the desk
    mobile = await fake.next_originate("PJSIP/89161234567@trunk")
    assert mobile.query["timeout"] == "3" and mobile.query["callerId"] == f'"Sokolov Ivan" <{CLIENT}>'
    await fake.answer(mobile.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="the caller talks to the manager's mobile")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert row["status"] == "answered" and row["operator_user_id"] == crm["ivanova"]["id"]
    assert route(row) == [("manager", "manager Irina Ivanova", "did not answer in 7 s"),
                          ("mobile", "mobile of Irina Ivanova", "answered")]
    assert json.loads(row["route"])[1]["dialled"] == "89161234567"
    assert not fake.originated("PJSIP/103"), "the queue is not reached"


async def test_a_mobile_that_does_not_answer_either_passes_the_call_on_to_the_queue(db, crm, fake, start_app):
    await no_recording(db)
    await _phone(db, crm["ivanova"]["id"], mobile=MOBILE, follow_me_seconds=5)
    fake.add_phone("102", state="offline")
    await start_app()
    caller = await fake.incoming(CLIENT)
    # The desk phone is offline: the mobile rings at once, as dialled (no rules).
    mobile = await fake.next_originate(f"PJSIP/{MOBILE}@trunk")
    await fake.hang_up(mobile.query["channelId"], cause=17)
    queue = await fake.next_originate("PJSIP/103")
    await fake.answer(queue.query["channelId"])
    await fake.wait_for(lambda: bridged(fake, caller), what="bridged with the queue")
    await fake.hang_up(caller)
    row = await ended_row(db, caller, steps=3)
    assert route(row)[:2] == [("manager", "manager Irina Ivanova", "is unreachable"),
                              ("mobile", "mobile of Irina Ivanova", "was busy")]
    assert route(row)[2][0] == "queue" and row["operator_user_id"] == crm["petrov"]["id"]
    assert not fake.originated("PJSIP/102")


async def test_without_follow_me_the_chain_is_as_before(db, crm, fake, start_app):
    await _phone(db, crm["ivanova"]["id"], mobile=MOBILE)  # a mobile alone does not follow
    await start_app()
    caller = await fake.incoming(CLIENT)
    desk = await fake.next_originate("PJSIP/102")
    assert desk.query["timeout"] == "3"
    await fake.hang_up(desk.query["channelId"], cause=19)
    await fake.next_originate("PJSIP/103")
    assert not [r for r in fake.originated() if "@trunk" in r.query["endpoint"]]
    await fake.hang_up(caller)


async def test_a_rule_saved_while_the_app_runs_applies_to_the_next_call(db, crm, fake, start_app):
    import asyncio

    await no_recording(db)
    await start_app()
    await _rules(db, PLUS7_TO_8)  # NOTIFY pbxcrm_routing: the app reloads now, not at its next refresh
    await asyncio.sleep(0.5)
    caller = await fake.incoming("102", args=["outbound", "+74951234567"], line="PJSIP/102")
    dial = await fake.next_originate("PJSIP/84951234567@trunk", timeout=2)
    await fake.hang_up(dial.query["channelId"], cause=17)
    await fake.wait_gone(caller)
