"""The SMS campaign runner through the database (issue 21, I2): recipients from a tag filter with their
skip reasons, batches queued once even by two runners at the same time, the window by the recipient's
zone, pause / resume / cancel, totals after receipts, and a 1,000-recipient campaign to the end."""

import asyncio
import datetime as dt

import pytest

from crm.errors import Conflict, Forbidden, NotFound
from crm.sms import queries as sms_queries
from crm.sms.campaigns import queries as cq
from crm.sms.campaigns import recipients, runner
from tests.sms_campaign_world import campaign_world, many_clients

MSK = dt.timezone(dt.timedelta(hours=3))
NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=MSK)


@pytest.fixture
async def world(db):
    return await campaign_world(db)


async def approved(pool, w, body="Hi {first_name}, {manager} here", *, extra_tag=None, max_parts=2):
    """Olga's campaign to VIP clients without Blocked, submitted and approved by Boris."""
    async with pool.acquire() as conn:
        campaign_id = await cq.create(conn, w["olga"], cq.CampaignInput("Winter sale", body, max_parts=max_parts))
        await recipients.from_filter(conn, campaign_id, recipients.TagFilter((extra_tag or w["vip"],), (w["blocked"],)),
                                     "RU")
        await recipients.prepare(conn, campaign_id, "Europe/Moscow")
        await cq.act(conn, w["olga"], campaign_id, "submit")
        await cq.act(conn, w["boris"], campaign_id, "approve")
        await conn.execute("UPDATE sms_campaigns SET starts_at = $2 WHERE id = $1", campaign_id,
                           NOON - dt.timedelta(hours=5))  # 07:00 Moscow
    return campaign_id


async def recipient_rows(pool, campaign_id):
    async with pool.acquire() as conn:
        return {r["name"]: r for r in await conn.fetch(
            "SELECT r.*, m.body AS message_body, m.campaign_id AS message_campaign FROM sms_campaign_recipients r "
            "LEFT JOIN sms_messages m ON m.id = r.message_id WHERE r.campaign_id = $1", campaign_id)}


async def test_tag_filter_skips_with_reasons_and_queues_once(db, world):
    campaign_id = await approved(db, world)
    rows = await recipient_rows(db, campaign_id)
    assert set(rows) == {"Sokolov Ivan", "Pyotrov Pyotr", "Stopov Stepan", "Shortov Semyon"}  # not Blocked, not Plain
    assert rows["Stopov Stepan"]["skip_reason"] == "opted_out"
    assert rows["Shortov Semyon"]["skip_reason"] == "invalid_number"
    assert rows["Pyotrov Pyotr"]["tz"] == "Asia/Vladivostok"
    assert rows["Sokolov Ivan"]["body"] == "Hi Ivan, Irina Menedzherova here"
    # 08:00 in Moscow: only the Vladivostok client's window is open.
    result = await runner.step(db, dt.datetime(2026, 11, 30, 8, 0, tzinfo=MSK))
    assert (result.started, result.queued) == (1, 1)
    rows = await recipient_rows(db, campaign_id)
    assert rows["Pyotrov Pyotr"]["status"] == "queued" and rows["Sokolov Ivan"]["status"] == "pending"
    assert rows["Pyotrov Pyotr"]["message_campaign"] == campaign_id
    # Ivan says STOP after the list was made: skipped when his turn comes.
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO sms_opt_outs (phone) VALUES ('+79161110001')")
    result = await runner.step(db, NOON)
    assert (result.queued, result.skipped) == (0, 1)
    assert (await recipient_rows(db, campaign_id))["Sokolov Ivan"]["skip_reason"] == "opted_out"
    assert (await runner.step(db, NOON)).queued == 0


async def test_a_mobile_on_a_card_with_its_own_time_zone_is_texted_in_that_zones_day(db, world):
    """A Russian mobile spans eleven zones: the number says nothing, the card's time zone does."""
    async with db.acquire() as conn:
        await conn.execute("UPDATE counterparties SET timezone = 'Asia/Vladivostok' WHERE last_name = 'Sokolov'")
    campaign_id = await approved(db, world)
    rows = await recipient_rows(db, campaign_id)
    assert rows["Sokolov Ivan"]["tz"] == "Asia/Vladivostok"
    assert rows["Stopov Stepan"]["tz"] == "Europe/Moscow"  # no zone on the card: the centre's for a mobile
    result = await runner.step(db, dt.datetime(2026, 11, 30, 8, 0, tzinfo=MSK))  # 15:00 in Vladivostok
    assert result.queued == 2  # Ivan and Pyotr (a Vladivostok landline); Moscow's day has not begun


async def test_approval_rights(db, world):
    async with db.acquire() as conn:
        campaign_id = await cq.create(conn, world["olga"], cq.CampaignInput("Spring", "Hello {name}"))
        with pytest.raises(Conflict, match="no one to send to"):
            await cq.act(conn, world["olga"], campaign_id, "submit")
        await recipients.from_filter(conn, campaign_id, recipients.TagFilter((world["vip"],)), "RU")
        await recipients.prepare(conn, campaign_id, "Europe/Moscow")
        await cq.act(conn, world["olga"], campaign_id, "submit")
        with pytest.raises(Forbidden, match="supervisor"):
            await cq.act(conn, world["olga"], campaign_id, "approve")
        with pytest.raises(NotFound):  # a manager does not even see another's campaign
            await cq.act(conn, world["irina"], campaign_id, "approve")
        assert await cq.act(conn, world["boris"], campaign_id, "approve") == "approved"
        told = await conn.fetch("SELECT user_id, kind, title FROM notifications ORDER BY id")
        assert [(t["user_id"], t["kind"]) for t in told] == [(world["boris"]["id"], "sms_campaign"),
                                                             (world["olga"]["id"], "sms_campaign")]
        assert "is approved" in told[1]["title"]
        audit = await conn.fetch("SELECT action, user_id FROM audit_log WHERE entity = 'sms_campaign' ORDER BY id")
        assert [a["action"] for a in audit] == ["create", "submit", "approve"]


async def test_two_runners_never_queue_one_twice(db, world):
    await many_clients(db, world["vip"], 600)
    campaign_id = await approved(db, world, "Sale")
    results = await asyncio.gather(*(runner.step(db, NOON, batch=50, max_queued=10_000) for _ in range(2)))
    assert sum(r.queued for r in results) == 100
    while (await runner.step(db, NOON, batch=150, max_queued=10_000)).queued:
        pass
    async with db.acquire() as conn:
        counts = await conn.fetchrow(
            "SELECT count(*) AS messages, count(DISTINCT phone) AS phones FROM sms_messages WHERE campaign_id = $1",
            campaign_id)
        queued = await conn.fetchval("SELECT count(*) FROM sms_campaign_recipients WHERE campaign_id = $1 "
                                     "AND status = 'queued'", campaign_id)
    assert counts["messages"] == counts["phones"] == queued == 600 + 2  # and Ivan and Pyotr


async def test_pause_resume_cancel(db, world):
    await many_clients(db, world["vip"], 30)
    campaign_id = await approved(db, world, "Sale")
    assert (await runner.step(db, NOON, batch=10)).queued == 10
    async with db.acquire() as conn:
        await cq.act(conn, world["olga"], campaign_id, "pause")
    assert (await runner.step(db, NOON, batch=10)).queued == 0
    async with db.acquire() as conn:
        await cq.act(conn, world["olga"], campaign_id, "resume")
    assert (await runner.step(db, NOON, batch=10)).queued == 10
    async with db.acquire() as conn:
        assert await cq.act(conn, world["boris"], campaign_id, "cancel") == "cancelled"
        totals = await cq.totals(conn, campaign_id)
        waiting = await conn.fetchval("SELECT count(*) FROM sms_messages WHERE campaign_id = $1 AND status = 'queued'",
                                      campaign_id)
    assert (await runner.step(db, NOON, batch=10)).queued == 0
    assert waiting == 0  # the queued ones nobody sent yet are failed, not sent
    # 32 to send (30, Ivan, Pyotr), 2 skipped at once: 20 queued and failed by the cancel, 12 never sent.
    assert (totals["pending"], totals["queued"], totals["failed"], totals["skipped"]) == (0, 20, 20, 2 + 12)


async def test_queued_messages_wait_while_paused_and_outside_the_window(db, world):
    """The sender takes a campaign's queued message only while the campaign runs and its recipient's
    local hour is in the window: a pause holds what was queued before it, and no retry goes at night."""
    campaign_id = await approved(db, world, "Sale")
    assert (await runner.step(db, NOON)).queued == 2  # Ivan (Moscow) and Pyotr (Vladivostok)
    night = NOON.replace(hour=23)  # 23:00 Moscow, 06:00 Vladivostok: outside 9-21 for both
    morning = NOON.replace(hour=4)  # 04:00 Moscow, 11:00 Vladivostok: only Pyotr's window is open
    async with db.acquire() as conn:
        await cq.act(conn, world["olga"], campaign_id, "pause")
        assert await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=NOON) == []
        await cq.act(conn, world["olga"], campaign_id, "resume")
        assert await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=night) == []
        [pyotr] = await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=morning)
        assert pyotr["phone"] == await conn.fetchval(
            "SELECT phone FROM sms_campaign_recipients WHERE campaign_id = $1 AND tz = 'Asia/Vladivostok'", campaign_id)
        assert len(await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=NOON)) == 1  # Ivan
        # A message of no campaign is never held (the card's chat).
        other = await sms_queries.queue_outgoing(conn, phone="+79161230000", body="hi", counterparty_id=None,
                                                 user_id=None, own_number="", gateway_id=world["gateway"])
        assert [m["id"] for m in await sms_queries.claim_due(conn, "w", world["gateway"], 10, 30, now=night)] == [other]


async def test_totals_after_receipts_and_done(db, world):
    campaign_id = await approved(db, world, "Sale")
    await runner.step(db, NOON)
    async with db.acquire() as conn:
        messages = [r["id"] for r in await conn.fetch("SELECT id FROM sms_messages WHERE campaign_id = $1 ORDER BY id",
                                                      campaign_id)]
        assert len(messages) == 2  # Ivan, and Pyotr (19:00 in Vladivostok)
        claimed = await sms_queries.claim_due(conn, "w1", world["gateway"], 10, 30, now=NOON)
        assert len(claimed) == 2
        await sms_queries.record_submitted(conn, messages[0], world["gateway"], [(1, "p-1")])
        await sms_queries.record_submitted(conn, messages[1], world["gateway"], [(1, "p-2")])
        await sms_queries.apply_receipt(conn, world["gateway"], "p-1", "delivered")
        totals = await cq.totals(conn, campaign_id)
        assert (totals["sent"], totals["delivered"], totals["failed"], totals["skipped"]) == (2, 1, 0, 2)
    assert (await runner.step(db, NOON)).finished == 0  # one still waits for its receipt
    async with db.acquire() as conn:
        await sms_queries.apply_receipt(conn, world["gateway"], "p-2", "undelivered", "absent subscriber")
        totals = await cq.totals(conn, campaign_id)
    assert (totals["sent"], totals["delivered"], totals["failed"]) == (2, 1, 1)
    assert (await runner.step(db, NOON)).finished == 1
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM sms_campaigns WHERE id = $1", campaign_id) == "done"


async def test_a_thousand_recipients_to_the_end(db, world):
    """Every recipient ends with one status; every message final; totals add up."""
    await many_clients(db, world["vip"], 1000)
    campaign_id = await approved(db, world, "Sale {first_name}")
    steps = 0
    while True:
        result = await runner.step(db, NOON, batch=200, max_queued=400)
        steps += 1
        async with db.acquire() as conn:  # the sender's side, in short: claim, submit, half delivered
            for message in await sms_queries.claim_due(conn, "w", world["gateway"], 500, 30, now=NOON):
                if message["id"] % 2:
                    await sms_queries.fail(conn, message["id"], "throttled too often")
                else:
                    await sms_queries.record_submitted(conn, message["id"], world["gateway"], [(1, f"m{message['id']}")])
                    await sms_queries.apply_receipt(conn, world["gateway"], f"m{message['id']}", "delivered")
        if result.finished:
            break
        assert steps < 20
    async with db.acquire() as conn:
        totals = await cq.totals(conn, campaign_id)
        per_phone = await conn.fetchval("SELECT max(n) FROM (SELECT count(*) AS n FROM sms_messages "
                                        "WHERE campaign_id = $1 GROUP BY phone) t", campaign_id)
    assert per_phone == 1
    assert totals["recipients"] == 1004 and totals["skipped"] == 2 and totals["queued"] == 1002
    assert totals["delivered"] + totals["failed"] == 1002 and totals["sending"] == 0
