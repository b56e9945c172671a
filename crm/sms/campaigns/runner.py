"""The campaign runner's step (issue 21, I2): start the approved campaigns whose time has come, hand the
next batch of each running campaign's recipients to the sender (crm.sms.queries.queue_outgoing), and finish
the campaigns with nothing left.

Each batch is one transaction: the recipients are taken FOR UPDATE SKIP LOCKED and marked queued with
their message in it, so two runners never take the same one and a restart never queues one twice.
Only recipients whose local time is inside the window are taken (model.open_zones). A campaign keeps at
most `max_queued` messages waiting for the sender, so a pause stops it within one batch and the window
is kept by the messages actually going out.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.sms import queries as sms_queries
from crm.sms.campaigns import model, recipients
from crm.sms.campaigns.queries import CHANNEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    started: int = 0
    queued: int = 0
    skipped: int = 0
    finished: int = 0


async def start_due(conn: asyncpg.Connection, now: dt.datetime) -> list[int]:
    rows = await conn.fetch(
        """UPDATE sms_campaigns SET status = 'running', updated_at = now()
           WHERE status = 'approved' AND coalesce(starts_at, approved_at) <= $1 RETURNING id""", now)
    for row in rows:
        await audit.record(conn, None, "sms_campaign", row["id"], "start", {"status": [model.APPROVED, model.RUNNING]})
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(row["id"]))
        log.info("sms campaign %d started", row["id"])
    return [r["id"] for r in rows]


async def queue_batch(conn: asyncpg.Connection, campaign_id: int, now: dt.datetime, batch: int,
                      max_queued: int) -> tuple[int, int]:
    """Queue the next recipients of one running campaign: (queued, skipped as opted out)."""
    async with conn.transaction():
        # FOR SHARE: a pause or a cancel (FOR UPDATE) waits for this batch, and this batch sees it if it came first.
        campaign = await conn.fetchrow(
            "SELECT id, own_number, zones, window_from, window_to FROM sms_campaigns "
            "WHERE id = $1 AND status = 'running' FOR SHARE", campaign_id)
        if campaign is None:
            return 0, 0
        zones = model.open_zones(now, list(campaign["zones"]), campaign["window_from"], campaign["window_to"])
        waiting = await conn.fetchval("SELECT count(*) FROM sms_messages WHERE campaign_id = $1 AND status = 'queued'",
                                      campaign_id)
        room = min(batch, max_queued - waiting)
        if not zones or room <= 0:
            return 0, 0
        gateway = await sms_queries.gateway_for(conn, campaign["own_number"])
        if gateway is None:
            log.warning("sms campaign %d: no active gateway for number %s; waiting", campaign_id,
                        campaign["own_number"] or "(default)")
            return 0, 0
        rows = await conn.fetch(
            """SELECT id, counterparty_id, phone, body FROM sms_campaign_recipients
               WHERE campaign_id = $1 AND status = 'pending' AND tz = ANY($2::text[])
               ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED""", campaign_id, zones, room)
        if not rows:
            return 0, 0
        opted_out = set(await recipients.skip_opted_out(conn, campaign_id, [r["id"] for r in rows]))
        ids, messages = [], []
        for row in rows:
            if row["id"] in opted_out:
                continue
            ids.append(row["id"])
            messages.append(await sms_queries.queue_outgoing(
                conn, phone=row["phone"], body=row["body"], counterparty_id=row["counterparty_id"], user_id=None,
                own_number=gateway["number"], gateway_id=gateway["gateway_id"], campaign_id=campaign_id))
        await conn.execute(
            """UPDATE sms_campaign_recipients r SET status = 'queued', message_id = x.message_id, queued_at = now()
               FROM unnest($1::bigint[], $2::bigint[]) AS x (id, message_id) WHERE r.id = x.id""", ids, messages)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(campaign_id))
    log.info("sms campaign %d: %d queued, %d opted out", campaign_id, len(ids), len(opted_out))
    return len(ids), len(opted_out)


async def finish_done(conn: asyncpg.Connection) -> list[int]:
    """Running campaigns with nobody pending and every message final are done."""
    rows = await conn.fetch(
        """UPDATE sms_campaigns c SET status = 'done', finished_at = now(), updated_at = now()
           WHERE c.status = 'running'
           AND NOT EXISTS (SELECT 1 FROM sms_campaign_recipients r WHERE r.campaign_id = c.id
                           AND r.status IN ('new', 'pending'))
           AND NOT EXISTS (SELECT 1 FROM sms_messages m WHERE m.campaign_id = c.id
                           AND m.status IN ('queued', 'submitting', 'submitted'))
           RETURNING c.id""")
    for row in rows:
        await audit.record(conn, None, "sms_campaign", row["id"], "finish", {"status": [model.RUNNING, model.DONE]})
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(row["id"]))
        log.info("sms campaign %d done", row["id"])
    return [r["id"] for r in rows]


async def step(pool: asyncpg.Pool, now: dt.datetime | None = None, *, batch: int = 200,
               max_queued: int = 1000) -> StepResult:
    """One pass over every campaign; how much it did (0 queued: nothing to do for now)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    async with pool.acquire() as conn:
        async with conn.transaction():
            started = await start_due(conn, now)
        running = [r["id"] for r in await conn.fetch("SELECT id FROM sms_campaigns WHERE status = 'running' "
                                                     "ORDER BY id")]
        queued = skipped = 0
        for campaign_id in running:
            q, s = await queue_batch(conn, campaign_id, now, batch, max_queued)
            queued, skipped = queued + q, skipped + s
        async with conn.transaction():
            finished = await finish_done(conn)
    return StepResult(len(started), queued, skipped, len(finished))
