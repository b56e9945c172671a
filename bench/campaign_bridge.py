"""`make bench`, dial campaigns (issue 22): the time from a client's answer to the agent's bridge, over a
progressive campaign on the sandbox. sipp plays the trunk (tests/sipp/campaign_trunk.xml: every number
answers after 0.2 s, talks, hangs up) and the 16 bench agents' phones (one UAS on port 5200); the Stasis
app (`pbxcrm ari`) dials, finds a free agent, rings it and bridges. Each attempt's answered_at and
bridged_at are the app's own stamps (ari_app/campaigns/connecting.py)."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

import asyncpg

from tests.campaign_support import make_campaign
from tests.telephony import TRUNK_PORT

SIPP = Path(__file__).resolve().parent.parent / "tests" / "sipp"
# The trunk's scenario answers any number not ending in 1 (busy) or 2 (no answer).
NUMBER_BASE = 7_495_300_0000


def campaign_numbers(count: int) -> list[str]:
    numbers, n = [], NUMBER_BASE
    while len(numbers) < count:
        n += 1
        if n % 10 not in (1, 2):
            numbers.append(f"+{n}")
    return numbers


async def bench_campaign_bridge(url: str, work: Path, calls: int, agents: list[str], app_factory,
                                uas_factory) -> dict:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    trunk = subprocess.Popen(["sipp", "-sf", str(SIPP / "campaign_trunk.xml"), "-i", "127.0.0.1",
                              "-p", str(TRUNK_PORT), "-mp", str(TRUNK_PORT + 20000), "-nostdin"], cwd=work,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    phones = uas_factory()
    app = app_factory(work / "ari-campaign.log")
    campaign = None
    try:
        app.wait_for("registered as Stasis app")
        async with pool.acquire() as conn:
            await conn.execute("UPDATE dial_campaigns SET status = 'cancelled' WHERE status IN ('running', 'paused')")
            author = await conn.fetchval("SELECT id FROM users WHERE extension = $1", agents[0])
            agent_ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM users WHERE extension = ANY($1::text[]) AND deleted_at IS NULL", agents)]
        campaign = await make_campaign(pool, author_id=author, agents=agent_ids, numbers=campaign_numbers(calls),
                                       ring_seconds=10, name=f"Bench campaign {time.time():.0f}")
        started = time.monotonic()
        deadline = started + 60 + calls  # far more than it takes: 16 agents, about 2 s a call
        while time.monotonic() < deadline:
            async with pool.acquire() as conn:
                left = await conn.fetchval("SELECT count(*) FROM dial_campaign_numbers WHERE campaign_id = $1 "
                                           "AND status IN ('pending', 'dialing')", campaign)
            if not left:
                break
            await asyncio.sleep(0.5)
        wall = time.monotonic() - started
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT outcome, answered_at, bridged_at FROM dial_attempts WHERE campaign_id = $1",
                                    campaign)
    finally:
        if campaign is not None:
            async with pool.acquire() as conn:
                await conn.execute("UPDATE dial_campaigns SET status = 'cancelled' WHERE id = $1 AND status <> 'done'",
                                   campaign)
        app.stop()
        for process in (trunk, phones):
            process.terminate()
            process.wait(10)
        await pool.close()
    waits = sorted((r["bridged_at"] - r["answered_at"]).total_seconds() * 1000 for r in rows
                   if r["outcome"] == "answered" and r["bridged_at"])
    if not waits:
        raise SystemExit(f"bench: no campaign call was bridged; see {work / 'ari-campaign.log'}")
    outcomes = Counter(r["outcome"] or "unfinished" for r in rows)
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    return {"n": len(waits), "median": statistics.median(waits), "p99": p99, "max": waits[-1],
            "outcomes": dict(outcomes), "wall": wall, "agents": len(agents)}


def campaign_bridge_rows(r: dict) -> list[tuple]:
    others = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()) if k != "answered") or "none"
    return [("Dial campaign: client's answer -> agent bridged", f"{r['median']:.0f} ms",
             f"p99 {r['p99']:.0f} ms, max {r['max']:.0f} ms", "<= 2 s",
             f"{r['n']} sipp calls, {r['agents']} agents, {r['wall']:.0f} s; not answered: {others}")]
