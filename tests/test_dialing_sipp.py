"""Dialling through the sandbox Asterisk with sipp (issue 15): a 4-digit extension places and
receives calls (through the app and, without it, the dialplan alone), and an outbound number
reaches the trunk's far end rewritten by the admin's dial rule, through the trunk the rule names."""

from __future__ import annotations

import pytest

from crm.dialing import queries as dialing_q
from crm.dialing.rules import RuleInput
from tests.helpers import finished_call, make_user
from tests.telephony import TRUNK_PORT, SippPhone, require_sandbox, sipp_call, wait_for

# The sandbox's second trunk (asterisk-conf/pjsip.conf), outbound only.
TRUNK2_PORT = 5071


@pytest.fixture
async def kozlov(db):
    """Oleg Kozlov on extension 1001 (the sandbox's 4-digit phone), and Ivanova on 102."""
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    kozlov = await make_user(db, "kozlov", "manager", full_name="Oleg Kozlov", extension="1001")
    async with db.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('recording.policy', '{"mode": "none"}')""")
    return kozlov, ivanova


def request_uris(phone: SippPhone) -> list[str]:
    """The Request-URI of every INVITE the far end received."""
    text = phone.messages.read_text(errors="replace") if phone.messages.exists() else ""
    return [line.split()[1] for line in text.splitlines() if line.startswith("INVITE sip:")]


async def test_a_four_digit_extension_receives_and_places_calls_through_the_app(kozlov, db, start_stasis_app,
                                                                                tmp_path):
    kozlov, ivanova = kozlov
    app = await start_stasis_app()
    async with SippPhone("1001", "phone_answer.xml", tmp_path) as phone_1001:
        result = await sipp_call(caller="102", called="1001", talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(phone_1001.invites()) == 1 and '"Irina Ivanova"' in phone_1001.invites()[0]
    row = await wait_for(lambda: finished_call(db, "102"))
    assert row is not None, app.log_text()
    assert row["direction"] == "internal" and row["status"] == "answered" and row["called_number"] == "1001"
    assert row["caller_user_id"] == ivanova["id"]

    async with SippPhone("102", "phone_answer.xml", tmp_path) as phone_102:
        result = await sipp_call(caller="1001", called="102", talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(phone_102.invites()) == 1 and '"Oleg Kozlov"' in phone_102.invites()[0]
    row = await wait_for(lambda: finished_call(db, "1001"))
    assert row is not None, app.log_text()
    assert row["direction"] == "internal" and row["status"] == "answered"
    assert row["caller_user_id"] == kozlov["id"]


async def test_without_the_app_the_dialplan_still_puts_a_four_digit_extension_through(tmp_path):
    await require_sandbox()
    async with SippPhone("1001", "phone_answer.xml", tmp_path) as phone_1001, \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        result = await sipp_call(caller="102", called="1001", talk_ms=500)
        assert result.returncode == 0, result.output
        assert len(phone_1001.invites()) == 1, "Stasis failed (no app): the dialplan rings PJSIP/1001 itself"
        assert outside.invites() == [], "not out through the trunk as a number"


async def test_an_outbound_number_reaches_the_trunk_rewritten_by_the_dial_rule(kozlov, db, start_stasis_app,
                                                                              tmp_path):
    kozlov, ivanova = kozlov
    async with db.acquire() as conn:
        await dialing_q.save_rule(conn, ivanova["id"], None, RuleInput(pattern="+7XXXXXXXXXX", strip=2, prepend="8",
                                                                       position=20))
        await dialing_q.save_rule(conn, ivanova["id"], None, RuleInput(pattern="+79XXXXXXXXX", strip=1,
                                                                       trunk="trunk2", position=10))
    app = await start_stasis_app()
    async with SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside, \
            SippPhone("trunk2", "phone_answer.xml", tmp_path, port=TRUNK2_PORT) as outside2:
        # The 4-digit phone dials a landline as +7...: the trunk is sent 8...
        result = await sipp_call(caller="1001", called="+74951234567", talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        assert [uri.split("@")[0] for uri in request_uris(outside)] == ["sip:84951234567"], app.log_text()
        # A mobile: the earlier rule sends it through trunk2, as 7...
        result = await sipp_call(caller="102", called="89161234567", talk_ms=500)
        assert result.returncode == 0, result.output + app.log_text()
        assert [uri.split("@")[0] for uri in request_uris(outside2)] == ["sip:79161234567"], app.log_text()
        assert len(request_uris(outside)) == 1
    row = await wait_for(lambda: finished_call(db, "1001"))
    assert row["direction"] == "outgoing" and row["status"] == "answered" and row["called_number"] == "+74951234567"
    assert row["caller_user_id"] == kozlov["id"]
