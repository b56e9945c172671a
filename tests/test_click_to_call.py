"""Click-to-call, PBX side (H6): POST /api/calls rings the user's phone, then the number."""

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import login, make_user
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, first_invite_time, wait_for


@pytest.fixture
async def setup(db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    await make_user(db, "noext", "operator", full_name="No Extension")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
    return ivanova, client


def _post_call(web, body):
    return web.post("/api/calls", json=body, headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})


async def _request(db, status):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_requests WHERE status = $1", status)


async def _call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL")


async def test_click_to_call_rings_the_user_then_the_client(setup, db, web, start_stasis_app, tmp_path):
    ivanova, client = setup
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    login(web, "ivanova")
    async with SippPhone("102", "phone_answer.xml", tmp_path) as desk, \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        r = _post_call(web, {"number": "8 (495) 123-45-67"})
        assert r.status_code == 202, r.text
        request_id = r.json()["id"]
        dialing = await wait_for(lambda: _request(db, "dialing"), timeout=10)
        assert dialing is not None, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        # The user's phone first, then the client's number.
        assert len(desk.invites()) == 1
        assert first_invite_time(desk.messages) < first_invite_time(outside.messages)
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        await wait_for(lambda: _bridged(dialing["channel_id"]), timeout=5)
        assert await ari_delete(f"/channels/{dialing['channel_id']}") == 204  # the user hangs up
        call = await wait_for(lambda: _call(db))
    assert call is not None, app.log_text()
    assert call["direction"] == "outgoing" and call["status"] == "answered"
    assert call["caller_user_id"] == ivanova["id"] and call["counterparty_id"] == client
    assert call["called_number"] == "74951234567"
    status = await wait_for(lambda: _request(db, "done"))
    assert status["id"] == request_id
    assert web.get(f"/api/calls/{request_id}").json()["status"] == "done"


async def _bridged(channel_id):
    from tests.telephony import ari_get
    status, bridges = await ari_get("/bridges")
    return any(channel_id in b["channels"] and len(b["channels"]) == 2 for b in bridges or [])


async def test_click_to_call_refuses_what_cannot_be_dialled(setup, db, web):
    login(web, "noext")
    assert _post_call(web, {"number": "84951234567"}).status_code == 400  # no extension to ring
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "ivanova")
    bad = _post_call(web, {"number": "call me maybe"})
    assert bad.status_code == 400 and "number" in bad.json()["errors"]
    assert _post_call(web, {}).status_code == 400
    other = await make_user(db, "other", "operator", extension="105")
    assert _post_call(web, {"number": "84951234567", "user_id": other["id"]}).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM call_requests") == 0
