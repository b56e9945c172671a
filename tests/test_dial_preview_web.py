"""Preview dialling through HTTP (issue 22): an agent takes the next number with its card (held for
them alone), calls it through click-to-call (the request carries the attempt), or skips it; the
outcome applies the retry rules; the PBX's outcome is amended by the agent; two agents never get one
number, even at once; only the campaign's agents work it."""

import asyncio
import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest

from crm.outbound import preview
from tests.dial_world import dial_world
from tests.helpers import log_in_as, post_form


@pytest.fixture
async def world(db):
    w = await dial_world(db, mode="preview", status="running")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, name, counterparty_id,
                                                  order_row_id, next_at)
               SELECT $1::bigint, '+7 916 111-00-01', '+79161110001', 'Sokolov', $2::bigint,
                      (SELECT id FROM order_rows WHERE row_key = 'a'), now() - interval '2 minutes'
               UNION ALL SELECT $1, '+7 916 555-00-02', '+79165550002', 'Second', NULL, NULL,
                      now() - interval '1 minute'""", w["campaign"], w["sokolov"])
    return w


def _next(web, campaign_id) -> int | None:
    r = post_form(web, f"/dial-campaigns/preview/{campaign_id}/next")
    assert r.status_code == 303
    m = re.search(r'id="preview-offer" data-attempt="(\d+)"', web.get(r.headers["location"]).text)
    return int(m.group(1)) if m else None


async def _number(db, number):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM dial_campaign_numbers WHERE number_normalized = $1", number)


async def test_claim_call_outcome_and_retry(web, world, db):
    c = world["campaign"]
    log_in_as(web, "olga")
    first = _next(web, c)
    page = html.unescape(web.get(f"/dial-campaigns/preview?campaign={c}").text)
    assert "+79161110001" in page and "Hello, this is a survey" in page and "Tver" in page  # card, script, row
    assert _next(web, c) == first  # the same offer until it is dealt with
    r = post_form(web, f"/dial-campaigns/preview/attempts/{first}/call")
    assert r.status_code == 303
    async with db.acquire() as conn:
        request = await conn.fetchrow("SELECT * FROM call_requests WHERE dial_attempt_id = $1", first)
    assert request["user_id"] == world["olga"]["id"] and request["number"].endswith("79161110001")
    assert request["order_id"] == world["order"]
    assert post_form(web, f"/dial-campaigns/preview/attempts/{first}/skip").status_code == 409  # called: no skip
    r = post_form(web, f"/dial-campaigns/preview/attempts/{first}/outcome", {"outcome": "busy", "note": "call later"})
    assert r.status_code == 303
    number = await _number(db, "+79161110001")
    assert (number["status"], number["attempts"], number["last_outcome"]) == ("pending", 1, "busy")
    assert dt.timedelta(minutes=9) < number["next_at"] - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=10)
    assert number["offered_to"] is None
    async with db.acquire() as conn:
        note = await conn.fetchval("SELECT body FROM notes WHERE counterparty_id = $1", world["sokolov"])
        assert note == "Campaign call (busy): call later"
        # Busy may take 2 attempts in this campaign: the second busy ends the number.
        await conn.execute("""UPDATE dial_campaigns SET retry_rules = '{"busy": {"attempts": 2}}' WHERE id = $1""", c)
        await conn.execute("""UPDATE dial_campaign_numbers SET next_at = now() - interval '1 hour'
                              WHERE number_normalized = '+79161110001'""")
    again = _next(web, c)
    assert again != first
    assert "+79161110001" in web.get(f"/dial-campaigns/preview?campaign={c}").text
    post_form(web, f"/dial-campaigns/preview/attempts/{again}/call")
    assert post_form(web, f"/dial-campaigns/preview/attempts/{again}/outcome", {"outcome": "busy"}).status_code == 303
    number = await _number(db, "+79161110001")
    assert (number["status"], number["attempts"]) == ("done", 2)
    bad = post_form(web, f"/dial-campaigns/preview/attempts/{again}/outcome", {"outcome": "dropped"})
    assert bad.status_code == 400


async def test_skip_and_nothing_due(web, world, db):
    """Skip: offered again later; a call the agent's phone never took does not stop a skip."""
    c = world["campaign"]
    log_in_as(web, "olga")
    first = _next(web, c)
    assert post_form(web, f"/dial-campaigns/preview/attempts/{first}/call").status_code == 303
    async with db.acquire() as conn:  # the agent's own phone was not answered: the number may still be skipped
        await conn.execute("UPDATE call_requests SET status = 'failed' WHERE dial_attempt_id = $1", first)
    assert post_form(web, f"/dial-campaigns/preview/attempts/{first}/skip").status_code == 303
    number = await _number(db, "+79161110001")
    assert number["status"] == "pending" and number["attempts"] == 0
    assert number["next_at"] > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=29)
    second = _next(web, c)
    assert second is not None and "+79165550002" in web.get(f"/dial-campaigns/preview?campaign={c}").text
    post_form(web, f"/dial-campaigns/preview/attempts/{second}/skip")
    r = post_form(web, f"/dial-campaigns/preview/{c}/next")
    assert "No number is due now." in web.get(r.headers["location"]).text


async def test_the_pbx_outcome_is_amended_by_the_agent(web, world, db):
    c = world["campaign"]
    log_in_as(web, "olga")
    attempt = _next(web, c)
    post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/call")
    async with db.acquire() as conn:
        await preview.ended_by_call(conn, attempt, "no-such-channel")  # the call ended, nobody answered
    number = await _number(db, "+79161110001")
    assert (number["status"], number["last_outcome"]) == ("pending", "no_answer")
    page = web.get(f"/dial-campaigns/preview?campaign={c}").text
    assert 'id="preview-last"' in page and 'value="no_answer" required checked' in page
    assert post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/outcome", {"outcome": "answered"}).status_code == 303
    number = await _number(db, "+79161110001")
    assert (number["status"], number["last_outcome"], number["attempts"]) == ("done", "answered", 1)
    assert number["outcome_counts"] in ('{"answered": 1, "no_answer": 0}', '{"no_answer": 0, "answered": 1}')
    async with db.acquire() as conn:
        assert await preview.record_outcome(conn, attempt, "busy") is None  # the PBX never overrides the agent


async def test_two_agents_never_get_one_number(web, world, db):
    c = world["campaign"]
    log_in_as(web, "olga")
    olga = _next(web, c)
    log_in_as(web, "oleg")
    oleg = _next(web, c)
    assert olga != oleg and oleg is not None
    async with db.acquire() as conn:
        offered = await conn.fetch("SELECT offered_to FROM dial_campaign_numbers WHERE status = 'dialing'")
    assert sorted(r["offered_to"] for r in offered) == sorted([world["olga"]["id"], world["oleg"]["id"]])
    assert post_form(web, f"/dial-campaigns/preview/attempts/{olga}/call").status_code == 404  # not his
    assert post_form(web, f"/dial-campaigns/preview/attempts/{olga}/skip").status_code == 404
    # At once, straight on the claim: each of many agents gets a different number or none.
    async with db.acquire() as conn:
        await conn.execute("UPDATE dial_campaign_numbers SET status = 'pending', offered_to = NULL, "
                           "lease_until = NULL; UPDATE dial_attempts SET outcome = 'cancelled'")
        await conn.execute("INSERT INTO dial_campaign_agents (campaign_id, user_id) SELECT $1, id FROM users "
                           "ON CONFLICT DO NOTHING", c)
        users = [r["id"] for r in await conn.fetch("SELECT id FROM users")]

    async def claim(user_id):
        async with db.acquire() as conn:
            return await preview.claim(conn, user_id, c, "Europe/Moscow")
    got = [a for a in await asyncio.gather(*(claim(u) for u in users)) if a is not None]
    async with db.acquire() as conn:
        numbers = [await conn.fetchval("SELECT number_id FROM dial_attempts WHERE id = $1", a) for a in got]
    assert len(got) == 2 and len(set(numbers)) == 2


async def test_rights(web, world, db):
    c = world["campaign"]
    for name in ("ivan", "irina", "boris"):  # not agents (a supervisor runs, not works, the campaign)
        log_in_as(web, name)
        page = web.get("/dial-campaigns/preview")
        assert page.status_code == 200 and "Winter calls" not in page.text
        assert post_form(web, f"/dial-campaigns/preview/{c}/next").status_code == 404
    log_in_as(web, "cora")
    assert web.get("/dial-campaigns/preview").status_code == 404
    assert post_form(web, f"/dial-campaigns/preview/{c}/next").status_code == 404
    log_in_as(web, "olga")
    attempt = _next(web, c)
    assert web.post(f"/dial-campaigns/preview/attempts/{attempt}/skip", follow_redirects=False).status_code == 403
    for name in ("ivan", "boris"):
        log_in_as(web, name)
        for action in ("call", "skip", "outcome"):
            assert post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/{action}",
                         {"outcome": "busy"}).status_code == 404
    async with db.acquire() as conn:  # a paused campaign offers nothing
        await conn.execute("UPDATE dial_campaigns SET status = 'paused' WHERE id = $1", c)
    log_in_as(web, "oleg")
    assert "Winter calls" not in web.get("/dial-campaigns/preview").text
    assert _next(web, c) is None


async def test_a_queue_s_member_works_it_and_the_campaign_is_done_with_its_last_number(web, world, db):
    c = world["campaign"]
    async with db.acquire() as conn:  # the campaign's agents are now a queue's members: irina only
        queue = await conn.fetchval("INSERT INTO queues (name) VALUES ('Survey line') RETURNING id")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", queue, world["irina"]["id"])
        await conn.execute("UPDATE dial_campaigns SET queue_id = $2 WHERE id = $1", c, queue)
    log_in_as(web, "olga")  # named on the campaign, not in its queue
    assert "Winter calls" not in web.get("/dial-campaigns/preview").text
    log_in_as(web, "irina")
    assert "Winter calls" in web.get("/dial-campaigns/preview").text
    for _ in range(2):
        attempt = _next(web, c)
        assert attempt is not None
        post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/call")
        assert post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/outcome",
                         {"outcome": "answered"}).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM dial_campaigns WHERE id = $1", c) == "done"
    assert _next(web, c) is None


async def test_a_client_who_asks_to_be_called_back_is_dialled_again_then_by_the_campaign(web, world, db):
    from crm.scheduled_calls import runner

    c = world["campaign"]
    log_in_as(web, "olga")
    attempt = _next(web, c)
    post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/call")
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).astimezone(ZoneInfo("Europe/Moscow"))
    form = {"outcome": "answered", "callback_date": tomorrow.date().isoformat(), "callback_time": "10:30"}
    bad = post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/outcome", {**form, "callback_time": ""})
    assert bad.status_code == 400 and "both the day and the time" in bad.text
    yesterday = (tomorrow - dt.timedelta(days=2)).date().isoformat()
    bad = post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/outcome", {**form, "callback_date": yesterday})
    assert bad.status_code == 400 and "already passed" in bad.text
    assert post_form(web, f"/dial-campaigns/preview/attempts/{attempt}/outcome", form).status_code == 303
    due = dt.datetime.combine(tomorrow.date(), dt.time(10, 30), ZoneInfo("Europe/Moscow"))
    number = await _number(db, "+79161110001")
    assert (number["status"], number["last_outcome"], number["next_at"]) == ("pending", "answered", due)
    async with db.acquire() as conn:
        planned = await conn.fetchrow("SELECT * FROM scheduled_calls WHERE campaign_id = $1", c)
        assert (planned["user_id"], planned["due_at"], planned["action"]) == (world["olga"]["id"], due, "dial")
        assert await runner.run_due(conn, due - dt.timedelta(minutes=1), region="RU") == 0
        assert await runner.run_due(conn, due, region="RU") == 1  # handed to the campaign: it dials, client first
        assert await conn.fetchval("SELECT status FROM scheduled_calls WHERE id = $1", planned["id"]) == "done"
        assert await conn.fetchval("SELECT count(*) FROM call_requests WHERE dial_attempt_id IS NULL") == 0
        assert await conn.fetchval("SELECT status FROM dial_campaigns WHERE id = $1", c) == "running"
