"""A preview campaign's call through the PBX (issue 22): "Call" rings the agent's phone, then the
number (click-to-call, the request linked to the attempt); when the call ends the Stasis app records
the attempt's outcome (answered) and its call, unless the agent already did."""

import re

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import login, make_user
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, wait_for


async def _request(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_requests WHERE status = 'dialing'")


async def _ended(db, attempt_id):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM dial_attempts WHERE id = $1 AND outcome <> ''", attempt_id)


async def test_the_pbx_records_the_outcome_of_a_preview_call(db, web, start_stasis_app, tmp_path):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", contacts=(ContactInput("phone", "+7 495 123-45-67"),)),
            "RU")
        campaign = await conn.fetchval(
            """INSERT INTO dial_campaigns (name, mode, status, window_from, window_to, author_id)
               VALUES ('Preview', 'preview', 'running', 0, 24, $1) RETURNING id""", ivanova["id"])
        await conn.execute("INSERT INTO dial_campaign_agents (campaign_id, user_id) VALUES ($1, $2)", campaign,
                           ivanova["id"])
        await conn.execute("""INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, counterparty_id)
                              VALUES ($1, '+7 495 123-45-67', '+74951234567', $2)""", campaign, client)
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    login(web, "ivanova")
    csrf = {"csrf_token": web.cookies["pbxcrm_csrf"]}
    r = web.post(f"/dial-campaigns/preview/{campaign}/next", data=csrf, follow_redirects=True)
    attempt = int(re.search(r'id="preview-offer" data-attempt="(\d+)"', r.text).group(1))
    async with SippPhone("102", "phone_answer.xml", tmp_path), \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        assert web.post(f"/dial-campaigns/preview/attempts/{attempt}/call", data=csrf,
                        follow_redirects=False).status_code == 303
        dialing = await wait_for(lambda: _request(db), timeout=10)
        assert dialing is not None and dialing["dial_attempt_id"] == attempt, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert await wait_for(lambda: _answered(db, dialing["channel_id"]), timeout=10), app.log_text()
        assert await ari_delete(f"/channels/{dialing['channel_id']}") == 204  # the agent hangs up
        ended = await wait_for(lambda: _ended(db, attempt), timeout=10)
    assert ended is not None, app.log_text()
    assert ended["outcome"] == "answered" and ended["call_id"] is not None
    async with db.acquire() as conn:
        number = await conn.fetchrow("SELECT status, attempts, last_outcome FROM dial_campaign_numbers")
    assert (number["status"], number["attempts"], number["last_outcome"]) == ("done", 1, "answered")


async def _answered(db, channel_id):
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT answered_at FROM calls WHERE channel_id = $1", channel_id)
