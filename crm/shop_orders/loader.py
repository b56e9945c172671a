"""A delivery of shop orders loaded (issue 24, K1): a CommerceML file (the 1C exchange's upload or the XML
pulled from the shop), or a list pulled from a URL (CSV, Excel, JSON). The body is read by its kind's
parser, its orders written (crm/shop_orders/store.py), and the outcome kept on the source (shown on the
admin's page). A body that cannot be read changes no order and says why; an unchanged pulled body is not
read again. URLs are fetched by issue 22's guarded fetch (crm/orders/sources.fetch): http(s) only, no
private addresses unless the admin allowed them, size and time limits.

`reload_due` is what the web process's background loop calls (web/shop_pulls.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import zoneinfo
from collections.abc import Mapping

import asyncpg

from crm import appsettings, i18n
from crm.orders import customers
from crm.orders import sources as fetching
from crm.orders.sources import SourceError
from crm.shop_orders import commerceml, feed, store
from crm.shop_orders import sources as shop_sources

log = logging.getLogger(__name__)

RETRY_MINUTES = 5


def parse(kind: str, body: bytes, timezone: str) -> tuple[list, list[str]]:
    """(orders, why some were skipped) of a body of this source kind; SourceError: none."""
    if kind == "commerceml":
        parsed = commerceml.parse(body, timezone=timezone)
        return parsed.orders, parsed.skipped
    return feed.parse(body), []


async def load_body(conn: asyncpg.Connection, source: Mapping, body: bytes, *, region: str, now: dt.datetime,
                    timezone: str, pulled: bool = False) -> dict[str, int]:
    """The body's orders written; SourceError (recorded on the source) when it could not be read."""
    body_digest = hashlib.sha256(body).hexdigest()
    if pulled and body_digest == source["last_digest"]:
        await shop_sources.record_outcome(conn, source["id"], error="")
        return {"orders": 0, "unchanged_file": 1}
    try:
        orders, skipped = parse(source["kind"], body, timezone)
    except SourceError as e:
        log.warning("shop source %d: a delivery refused: %s", source["id"], e)
        await shop_sources.record_outcome(conn, source["id"], error=str(e))
        raise
    counts = await store.save_orders(conn, source, orders, region=region, now=now, zone=zoneinfo.ZoneInfo(timezone))
    counts["skipped"] = len(skipped)
    await shop_sources.record_outcome(conn, source["id"], error=store.outcome_text(counts, skipped), counts=counts,
                                      body_digest=body_digest if pulled else None)
    return counts


async def pull(conn: asyncpg.Connection, source: Mapping, *, region: str, now: dt.datetime, timezone: str,
               timeout: float = fetching.TIMEOUT) -> dict[str, int]:
    """The source's URL read and loaded; SourceError (recorded on the source) when it could not be."""
    try:
        body = await fetching.fetch(source["url"], allow_private=await customers.private_urls_allowed(conn),
                                    timeout=timeout)
    except SourceError as e:
        await shop_sources.record_outcome(conn, source["id"], error=str(e))
        raise
    return await load_body(conn, source, body, region=region, now=now, timezone=timezone, pulled=True)


async def _claim_due(conn: asyncpg.Connection, now: dt.datetime) -> asyncpg.Record | None:
    """One source whose URL is due, its next time set (another process does not take it too)."""
    return await conn.fetchrow(
        """UPDATE shop_sources s SET next_load_at = $1 + make_interval(mins => coalesce(s.reload_minutes, 60))
           WHERE s.id = (SELECT id FROM shop_sources WHERE url <> '' AND active AND next_load_at <= $1
                         ORDER BY next_load_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING s.*""", now)


async def reload_due(pool: asyncpg.Pool, now: dt.datetime, *, region: str, timezone: str, limit: int = 10) -> int:
    """Pull the sources whose time came (each failure is on its source); how many were tried."""
    tried = 0
    while tried < limit:
        async with pool.acquire() as conn:
            source = await _claim_due(conn, now)
            if source is None:
                break
            tried += 1
            try:
                with i18n.using(await appsettings.centre_language(conn)):
                    await pull(conn, source, region=region, now=now, timezone=timezone)
            except SourceError:
                if (source["reload_minutes"] or 60) > RETRY_MINUTES:
                    await conn.execute("UPDATE shop_sources SET next_load_at = $2 WHERE id = $1", source["id"],
                                       now + dt.timedelta(minutes=RETRY_MINUTES))
    return tried
