"""Calls from users' phones: outgoing through the trunk and internal, logged and recorded by policy."""

import asyncio

import pytest
from starlette.testclient import TestClient

from crm.recordings import queries as rec_q
from crm.recordings.policy import RecordingPolicy
from tests.helpers import finished_call, ivanova_and_her_client, login, make_user
from tests.telephony import TRUNK_PORT, SippPhone, sipp_call, wait_for
from web.app import create_app


@pytest.fixture
async def people(db):
    ivanova, client = await ivanova_and_her_client(db)
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    async with db.acquire() as conn:
        await rec_q.save_policy(conn, RecordingPolicy("all_but_internal"), None)
    return ivanova, petrov, client


async def _recordings(db):
    async with db.acquire() as conn:
        return await conn.fetch("SELECT * FROM recordings")


async def test_an_outbound_call_to_a_client_is_on_its_card_as_outgoing_and_recorded(people, db, settings,
                                                                                     start_stasis_app, tmp_path):
    ivanova, _, client = people
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    async with SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        # Ivanova's desk phone dials the client's number, written the way people dial it.
        result = await sipp_call(caller="102", called="84951234567", talk_ms=2000, scenario="caller_audio.xml")
        assert result.returncode == 0, result.output + app.log_text()
        invites = outside.invites()
        assert len(invites) == 1 and '"Irina Ivanova"' in invites[0]
    row = await wait_for(lambda: finished_call(db, "102"))
    assert row is not None, app.log_text()
    assert row["direction"] == "outgoing" and row["status"] == "answered"
    assert row["counterparty_id"] == client
    assert row["caller_user_id"] == ivanova["id"] and row["operator_user_id"] == ivanova["id"]
    assert row["called_normalized"] == "+74951234567"
    recordings = await wait_for(lambda: _recordings(db), timeout=20)
    assert len(recordings) == 1 and recordings[0]["format"] == "mp3", app.log_text()

    # On the client's card, as outgoing, with its recording.
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "ivanova")
        card = web.get(f"/counterparties/{client}").text
    calls_table = card.split('id="card-calls"')[1]
    # The number is a click-to-call button there (issue 20, H6).
    assert ('<td data-label="Direction">outgoing</td><td data-label="Number"><button type="button" class="call" '
            'data-call="84951234567"') in calls_table
    assert f'src="/recordings/{recordings[0]["id"]}"' in calls_table


async def test_an_internal_call_is_logged_as_internal_and_not_recorded_under_all_but_internal(
        people, db, start_stasis_app, tmp_path):
    ivanova, petrov, _ = people
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    async with SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        result = await sipp_call(caller="102", called="103", talk_ms=1500, scenario="caller_audio.xml")
        assert result.returncode == 0, result.output + app.log_text()
        assert len(petrov_phone.invites()) == 1
    row = await wait_for(lambda: finished_call(db, "102"))
    assert row["direction"] == "internal" and row["status"] == "answered"
    assert row["caller_user_id"] == ivanova["id"] and row["counterparty_id"] is None
    await asyncio.sleep(1.5)  # a recording, were there one, would be linked by now
    assert await _recordings(db) == []
    assert "recording" not in app.log_text().split("internal call from 102")[1]
