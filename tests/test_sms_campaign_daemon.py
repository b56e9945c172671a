"""The campaign runner as the SMS process runs it (smsd/campaigns.py): an approval wakes it (NOTIFY), it
queues the campaign's recipients, and it stops when told."""

import asyncio

from crm.sms.campaigns import queries as cq
from crm.sms.campaigns import recipients
from smsd.campaigns import run_forever
from tests.sms_campaign_world import campaign_world, many_clients


async def test_runs_until_stopped_and_queues_an_approved_campaign(db, settings):
    w = await campaign_world(db)
    await many_clients(db, w["vip"], 300)
    async with db.acquire() as conn:
        campaign_id = await cq.create(conn, w["olga"], cq.CampaignInput("Now", "Hi {first_name}", window_from=0,
                                                                        window_to=24))
        await recipients.from_filter(conn, campaign_id, recipients.TagFilter((w["vip"],)), "RU")
        await recipients.prepare(conn, campaign_id, "Europe/Moscow")
        await cq.act(conn, w["olga"], campaign_id, "submit")
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(db, settings, stop))
    try:
        await asyncio.sleep(0.5)
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM sms_messages") == 0  # not approved yet
            await cq.act(conn, w["boris"], campaign_id, "approve")
            for _ in range(50):
                await asyncio.sleep(0.1)
                totals = await cq.totals(conn, campaign_id)
                if totals["pending"] == 0:
                    break
        assert totals["queued"] == 303 and totals["skipped"] == 2  # 300, Ivan, Pyotr, Blokov; not Stop, Short
        assert await db.fetchval("SELECT status FROM sms_campaigns WHERE id = $1", campaign_id) == "running"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
