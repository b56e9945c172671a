"""Dial campaigns for tests (issue 22): a campaign with its agents, numbers and do-not-call entries made
straight in the database, and what the dialer left there (attempts, numbers). Used by the dialer's
tests (fake ARI and sandbox) and the bench."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

import asyncpg

from crm.outbound import queries as outbound_q
from tests.fast_clock import real_monotonic

ALWAYS = (0, 24)  # calling hours that are always open


async def make_campaign(pool: asyncpg.Pool, *, author_id: int, agents: Iterable[int] = (),
                        numbers: Iterable[str | tuple[str, str]] = (), mode: str = "progressive",
                        status: str = "running", retry_rules: dict | None = None, amd: bool = False,
                        machine_action: str = "hangup", hours: tuple[int, int] = ALWAYS, ring_seconds: int = 25,
                        caller_id: str = "", order_id: int | None = None, name: str = "Test campaign",
                        drop_limit: float = 3.0) -> int:
    """A campaign and its numbers (E.164, or (number, time zone)); a number not starting with + is
    listed as invalid (no number_normalized). NOTIFYs the dialer."""
    async with pool.acquire() as conn, conn.transaction():
        campaign_id = await conn.fetchval(
            """INSERT INTO dial_campaigns (name, order_id, mode, status, window_from, window_to, retry_rules, amd,
                                           machine_action, ring_seconds, caller_id, author_id, drop_limit,
                                           started_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13,
                       CASE WHEN $4 = 'running' THEN now() END) RETURNING id""",
            name, order_id, mode, status, hours[0], hours[1], json.dumps(retry_rules or {}), amd, machine_action,
            ring_seconds, caller_id, author_id, drop_limit)
        await conn.executemany("INSERT INTO dial_campaign_agents (campaign_id, user_id) VALUES ($1, $2)",
                               [(campaign_id, user_id) for user_id in agents])
        await add_numbers(conn, campaign_id, numbers)
        await outbound_q.notify_changed(conn, campaign_id)
    return campaign_id


async def add_numbers(conn: asyncpg.Connection, campaign_id: int, numbers: Iterable[str | tuple[str, str]]) -> None:
    rows = []
    for entry in numbers:
        number, tz = entry if isinstance(entry, tuple) else (entry, "")
        rows.append((campaign_id, number, number if number.startswith("+") else None, tz))
    await conn.executemany(
        """INSERT INTO dial_campaign_numbers (campaign_id, number, number_normalized, tz)
           VALUES ($1, $2, $3, $4)""", rows)


async def add_dnc(pool: asyncpg.Pool, number: str, campaign_id: int | None = None) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO dnc_numbers (number, campaign_id) VALUES ($1, $2)", number, campaign_id)


async def set_status(pool: asyncpg.Pool, campaign_id: int, status: str) -> None:
    """As the web's start, pause or resume does: the new status and a NOTIFY."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE dial_campaigns SET status = $2, updated_at = now() WHERE id = $1",
                           campaign_id, status)
        await outbound_q.notify_changed(conn, campaign_id)


async def attempts(pool: asyncpg.Pool, campaign_id: int) -> list[asyncpg.Record]:
    """The campaign's attempts with their number, oldest first."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            """SELECT a.*, n.number FROM dial_attempts a JOIN dial_campaign_numbers n ON n.id = a.number_id
               WHERE a.campaign_id = $1 ORDER BY a.id""", campaign_id)


async def numbers(pool: asyncpg.Pool, campaign_id: int) -> dict[str, asyncpg.Record]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM dial_campaign_numbers WHERE campaign_id = $1 ORDER BY id",
                                campaign_id)
    return {r["number"]: r for r in rows}


async def campaign_status(pool: asyncpg.Pool, campaign_id: int) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT status FROM dial_campaigns WHERE id = $1", campaign_id)


async def log_out(pool: asyncpg.Pool, user_id: int) -> None:
    """The agent is logged out of its queues (agent presence, issue 18), as the web does it (NOTIFYed)."""
    from crm.agents import queries as agents_q

    async with pool.acquire() as conn:
        await agents_q.change(conn, user_id, "logout", source="web")


async def eventually(probe, *, timeout: float = 5.0, what: str = "condition"):
    """Await `probe()` (a coroutine function) until it returns something true; that value."""
    deadline = real_monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        assert real_monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
