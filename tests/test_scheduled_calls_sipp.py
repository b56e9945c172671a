"""A scheduled 'dial' call through the PBX (issue 22, H8): at its time the runner files a click-to-call request,
the Stasis app rings the user's phone (sipp), then, once answered, the client (sipp on the trunk); when the call
ends, settle() marks the scheduled call done, linked to the call."""

import datetime as dt

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.scheduled_calls import queries as sq
from crm.scheduled_calls import runner
from tests.helpers import make_user
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, ari_get, first_invite_time, wait_for


@pytest.fixture
async def planned(db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        due = dt.datetime.now(dt.timezone.utc)
        call_id = await sq.create(conn, ivanova, sq.ScheduledCallInput(
            number="8 (495) 123-45-67", due_at=due, action="dial", counterparty_id=client),
            now=due - dt.timedelta(minutes=30), region="RU")
    return ivanova, client, call_id


async def _row(db, call_id):
    async with db.acquire() as conn:
        return await conn.fetchrow(
            """SELECT s.*, r.status AS request_status, r.channel_id FROM scheduled_calls s
               LEFT JOIN call_requests r ON r.id = s.request_id WHERE s.id = $1""", call_id)


async def _bridged(channel_id):
    status, bridges = await ari_get("/bridges")
    return any(channel_id in b["channels"] and len(b["channels"]) == 2 for b in bridges or [])


async def test_a_due_dial_rings_the_user_then_the_client_and_ends_done(planned, db, start_stasis_app, tmp_path):
    ivanova, client, call_id = planned
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    async with SippPhone("102", "phone_answer.xml", tmp_path) as desk, \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        async with db.acquire() as conn:
            assert await runner.run_due(conn, dt.datetime.now(dt.timezone.utc), region="RU") == 1
        assert (await _row(db, call_id))["status"] == "dialing"
        answered = await wait_for(lambda: _answered(db, call_id), timeout=10)
        assert answered is not None, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert len(desk.invites()) == 1  # the user's phone first, then the client's number
        assert first_invite_time(desk.messages) < first_invite_time(outside.messages)
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        await wait_for(lambda: _bridged(answered["channel_id"]), timeout=5)
        assert await ari_delete(f"/channels/{answered['channel_id']}") == 204  # the user hangs up
        assert await wait_for(lambda: _request_done(db, call_id)), app.log_text()
    async with db.acquire() as conn:
        assert await runner.settle(conn) == 1
        call = await wait_for(lambda: _linked_call(conn, call_id))
        shown = await sq.get(conn, ivanova, call_id)  # what its page links to
    row = await _row(db, call_id)
    assert row["status"] == "done" and row["error"] == ""
    assert call is not None and call["direction"] == "outgoing" and call["counterparty_id"] == client
    assert call["caller_user_id"] == ivanova["id"] and call["called_number"] == "74951234567"
    assert shown["call_id"] == call["id"]


async def _answered(db, call_id):
    row = await _row(db, call_id)
    return row if row["request_status"] == "dialing" else None


async def _request_done(db, call_id):
    return (await _row(db, call_id))["request_status"] == "done"


async def _linked_call(conn, call_id):
    """The call the scheduled call made, as its page links it (scheduled_calls.request_id -> the channel)."""
    row = await conn.fetchrow(
        """SELECT c.* FROM scheduled_calls s JOIN call_requests r ON r.id = s.request_id
           JOIN calls c ON c.channel_id = r.channel_id WHERE s.id = $1 AND c.ended_at IS NOT NULL""", call_id)
    return row
