"""`make bench`, SMS campaigns (issue 21, I2): the campaign runner's side at 100,000 recipients — listing
them from a tag filter and checking them (crm/sms/campaigns/recipients.py), then queuing every one through
runner steps (crm/sms/campaigns/runner.py) — its rate and this process's memory while it does it (RSS
sampled after every batch: it must stay flat, nothing is fetched whole). The sending worker's rate
against the SMSC is measured with the worker (smsd), not here.

Standalone: `python -m bench.sms_campaigns postgresql://.../db 100000` on a migrated database."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
import time
from pathlib import Path

import asyncpg

from crm.demo_data import seed
from crm.sms.campaigns import queries as cq
from crm.sms.campaigns import recipients, runner
from crm.users.accounts import NewUser, create_user

TAG = "Bench SMS campaign"
BATCH = 500


def rss_mb() -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


async def _prepare(conn: asyncpg.Connection, count: int) -> tuple[dict, int]:
    """A supervisor, a gateway with the default number, and `count` clients with a phone tagged TAG."""
    user = await conn.fetchrow("SELECT id, role FROM users WHERE login = 'bench-sms'")
    if user is None:
        user = await create_user(conn, NewUser(login="bench-sms", full_name="Bench Sms", password="bench-password",
                                               role="supervisor"))
    if not await conn.fetchval("SELECT 1 FROM sms_numbers WHERE is_default"):
        gateway = await conn.fetchval("INSERT INTO sms_gateways (name, kind) VALUES ('Bench SMSC', 'smpp') "
                                      "RETURNING id")
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950009999', $1, true)",
                           gateway)
    tag = await conn.fetchval("SELECT id FROM tags WHERE name = $1", TAG) or \
        await conn.fetchval("INSERT INTO tags (name) VALUES ($1) RETURNING id", TAG)
    have = await conn.fetchval("SELECT count(*) FROM counterparty_tags WHERE tag_id = $1", tag)
    if have < count:
        # The bench base's clients (crm/demo_data.py), each at its first phone; seeded here if too few.
        with_phone = await conn.fetchval("SELECT count(DISTINCT counterparty_id) FROM contacts WHERE kind = 'phone'")
        if with_phone < count:
            await seed(conn, int((count - with_phone) * 1.5), seed_value=2)
        await conn.execute(
            """INSERT INTO counterparty_tags (counterparty_id, tag_id)
               SELECT c.id, $2 FROM counterparties c
               WHERE c.kind = 'client' AND c.deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM contacts k WHERE k.counterparty_id = c.id AND k.kind = 'phone')
               ORDER BY c.id LIMIT $1 ON CONFLICT DO NOTHING""", count, tag)
    return dict(user), tag


async def _cleanup(conn: asyncpg.Connection, campaign_id: int) -> None:
    await conn.execute("DELETE FROM sms_campaign_recipients WHERE campaign_id = $1", campaign_id)
    await conn.execute("DELETE FROM sms_messages WHERE campaign_id = $1", campaign_id)
    await conn.execute("DELETE FROM sms_campaigns WHERE id = $1", campaign_id)


async def bench_sms_campaign(url: str, count: int = 100_000) -> dict:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            user, tag = await _prepare(conn, count)
            start_rss = rss_mb()
            t = time.perf_counter()
            campaign_id = await cq.create(conn, user, cq.CampaignInput("Bench", "Hello {first_name}, {manager} here",
                                                                       window_from=0, window_to=24))
            listed = await recipients.from_filter(conn, campaign_id, recipients.TagFilter((tag,)), "RU")
            await recipients.prepare(conn, campaign_id, "Europe/Moscow")
            prepared = time.perf_counter() - t
            prepare_rss = rss_mb()
            await cq.act(conn, user, campaign_id, "submit")
            await cq.act(conn, user, campaign_id, "approve")
        peak, queued = rss_mb(), 0
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        while True:
            result = await runner.step(pool, now, batch=BATCH, max_queued=10 ** 9)
            queued += result.queued
            peak = max(peak, rss_mb())
            if not result.queued:
                break
        queuing = time.perf_counter() - t
        async with pool.acquire() as conn:
            totals = await cq.totals(conn, campaign_id)
            await _cleanup(conn, campaign_id)
    finally:
        await pool.close()
    return {"listed": listed, "queued": queued, "pending_left": totals["pending"], "prepare_s": prepared,
            "prepare_rate": listed / prepared, "rate": queued / queuing, "start_mb": start_rss,
            "prepare_mb": prepare_rss, "peak_mb": peak}


def sms_campaign_rows(r: dict) -> list[tuple]:
    return [("SMS campaign: list and check recipients", f"{r['prepare_rate']:.0f} recipients/s",
             f"{r['prepare_s']:.1f} s", "", f"{r['listed']:,} recipients"),
            ("SMS campaign: runner queuing", f"{r['rate']:.0f} messages/s",
             f"RSS {r['start_mb']:.0f} -> {r['peak_mb']:.0f} MB", "memory flat (< +50 MB)",
             f"{r['queued']:,} queued, {r['pending_left']} left")]


if __name__ == "__main__":
    found = asyncio.run(bench_sms_campaign(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000))
    print(found)
    for row in sms_campaign_rows(found):
        print(" | ".join(row))
