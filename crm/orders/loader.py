"""An order's call list loaded from a file or its URL (issue 22, H9). The last state is kept in
order_rows keyed by row_key: a reload updates the rows that changed, inserts new ones, marks the ones
gone from the source (their calls still link to them) and never duplicates. A URL that fails, times out,
is too large or returns garbage leaves the rows as they were, and the order says why (orders.last_error).

`parse` is pure; `store` writes a parsed list; `load_body` and `reload` are the two ways in;
`reload_due` is what the web process's background loop calls (web/order_reloads.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

import asyncpg

from crm import appsettings, i18n
from crm.i18n import _
from crm.orders import customers, sources
from crm.orders.sources import SourceError
from crm.phones import InvalidPhone, normalize_phone

log = logging.getLogger(__name__)

PHONE_HEADERS = {"phone", "phone number", "number", "mobile", "телефон", "номер", "мобильный", "номер телефона"}
NAME_HEADERS = {"name", "full name", "client", "имя", "фио", "клиент"}
# When a failed URL is tried again at the earliest (the order's own period if shorter).
RETRY_MINUTES = 5


@dataclass(frozen=True)
class Row:
    key: str
    phone: str
    normalized: str | None
    name: str
    data: dict[str, str]
    problem: str = ""


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    duplicates: int = 0


def _column(header: list[str], names: set[str]) -> int | None:
    for i, title in enumerate(header):
        if title.strip().casefold() in names:
            return i
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed into Excel as a number
    return str(value).replace("\x00", "").strip()[:1000]


def parse(header: list[str], rows: list[tuple[int, list]], *, key_column: str, region: str) -> Parsed:
    """The rows of a table as order rows: the phone read, the key found; a repeated key keeps the first."""
    phone_at = _column(header, PHONE_HEADERS)
    if phone_at is None:
        raise SourceError(_("the first row needs a column called Phone (Телефон)"))
    name_at = _column(header, NAME_HEADERS)
    key_at = None
    if key_column.strip():
        key_at = _column(header, {key_column.strip().casefold()})
        if key_at is None:
            raise SourceError(_("there is no column %(name)s for the rows' key") % {"name": key_column})
    titles = [_text(h) or f"#{i + 1}" for i, h in enumerate(header)]
    out = Parsed()
    seen: set[str] = set()
    for number, values in rows:
        cells = [_text(values[i]) if i < len(values) else "" for i in range(len(titles))]
        phone = cells[phone_at]
        problem = ""
        try:
            normalized: str | None = normalize_phone(phone, region)
        except InvalidPhone as e:
            normalized, problem = None, str(e) or _("not a phone number")
        key = cells[key_at] if key_at is not None else (normalized or phone)
        if not key:
            key = f"row {number}"
        if key in seen:
            out.duplicates += 1
            continue
        seen.add(key)
        out.rows.append(Row(key=key[:500], phone=phone[:100], normalized=normalized,
                            name=cells[name_at][:200] if name_at is not None else "",
                            data=dict(zip(titles, cells)), problem=problem[:500]))
    return out


async def store(conn: asyncpg.Connection, order_id: int, parsed: Parsed) -> dict[str, int]:
    """Make order_rows what the list says; the counts of what changed."""
    rows = parsed.rows
    async with conn.transaction():
        changed = await conn.fetch(
            """INSERT INTO order_rows AS r (order_id, row_key, phone, phone_normalized, name, data, problem,
                                             counterparty_id)
               SELECT $1, n.key, n.phone, n.normalized, n.name, n.data::jsonb, n.problem,
                      (SELECT k.counterparty_id FROM contacts k WHERE k.normalized = n.normalized
                       AND k.deleted_at IS NULL ORDER BY k.id LIMIT 1)
               FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                    AS n (key, phone, normalized, name, data, problem)
               ON CONFLICT (order_id, row_key) DO UPDATE SET
                   phone = EXCLUDED.phone, phone_normalized = EXCLUDED.phone_normalized, name = EXCLUDED.name,
                   data = EXCLUDED.data, problem = EXCLUDED.problem,
                   counterparty_id = coalesce(EXCLUDED.counterparty_id, r.counterparty_id),
                   removed_at = NULL, updated_at = now()
               WHERE (r.phone, r.phone_normalized, r.name, r.data, r.problem, r.removed_at IS NULL)
                     IS DISTINCT FROM (EXCLUDED.phone, EXCLUDED.phone_normalized, EXCLUDED.name, EXCLUDED.data,
                                       EXCLUDED.problem, true)
               RETURNING (xmax = 0) AS inserted""",
            order_id, [r.key for r in rows], [r.phone for r in rows], [r.normalized for r in rows],
            [r.name for r in rows], [json.dumps(r.data, ensure_ascii=False) for r in rows],
            [r.problem for r in rows])
        removed = await conn.execute(
            """UPDATE order_rows SET removed_at = now(), updated_at = now()
               WHERE order_id = $1 AND removed_at IS NULL AND NOT (row_key = ANY($2::text[]))""",
            order_id, [r.key for r in rows])
    added = sum(1 for c in changed if c["inserted"])
    return {"rows": len(rows), "added": added, "changed": len(changed) - added,
            "removed": int(removed.split()[-1]), "invalid": sum(1 for r in rows if r.normalized is None),
            "duplicates": parsed.duplicates}


def digest(body: bytes, key_column: str) -> str:
    return hashlib.sha256(key_column.encode() + b"\0" + body).hexdigest()


async def _outcome(conn: asyncpg.Connection, order_id: int, *, error: str, counts: dict | None = None,
                   body_digest: str | None = None) -> None:
    await conn.execute(
        """UPDATE orders SET last_error = $2, last_loaded_at = CASE WHEN $2 = '' THEN now() ELSE last_loaded_at END,
                  last_counts = coalesce($3::jsonb, last_counts), last_digest = coalesce($4, last_digest)
           WHERE id = $1""",
        order_id, error[:1000], json.dumps(counts) if counts is not None else None, body_digest)


async def load_body(conn: asyncpg.Connection, order: asyncpg.Record, body: bytes, region: str) -> dict[str, int]:
    """A file's bytes (uploaded or read from the URL) into the order's rows. SourceError: nothing changed,
    and the order says why."""
    body_digest = digest(body, order["key_column"])
    if body_digest == order["last_digest"]:
        await _outcome(conn, order["id"], error="")
        return json.loads(order["last_counts"] or "{}")
    try:
        header, rows = sources.read_table(body)
        parsed = parse(header, rows, key_column=order["key_column"], region=region)
        if not parsed.rows:
            # A source that answers with its header alone (an export gone wrong) must not empty the order.
            raise SourceError(_("the list has no rows; the order's rows are kept as they were"))
    except SourceError as e:
        await _outcome(conn, order["id"], error=str(e))
        raise
    counts = await store(conn, order["id"], parsed)
    await _outcome(conn, order["id"], error="", counts=counts, body_digest=body_digest)
    log.info("order %d: list loaded: %s", order["id"], counts)
    return counts


async def reload(conn: asyncpg.Connection, order: asyncpg.Record, region: str, *,
                 timeout: float = sources.TIMEOUT) -> dict[str, int]:
    """The order's URL read again and loaded; SourceError (recorded on the order) when it could not be."""
    allow_private = await customers.private_urls_allowed(conn)
    try:
        body = await sources.fetch(order["source_url"], allow_private=allow_private, timeout=timeout)
    except SourceError as e:
        log.warning("order %d: %s not loaded: %s", order["id"], order["source_url"], e)
        await _outcome(conn, order["id"], error=str(e))
        raise
    return await load_body(conn, order, body, region)


async def _claim_due(conn: asyncpg.Connection, now: dt.datetime) -> asyncpg.Record | None:
    """One order whose URL is due, its next time set (another process does not take it too)."""
    return await conn.fetchrow(
        """UPDATE orders o SET next_load_at = $1 + make_interval(mins => coalesce(o.reload_minutes, 1440))
           WHERE o.id = (SELECT id FROM orders WHERE source_url <> '' AND status = 'open'
                         AND next_load_at IS NOT NULL AND next_load_at <= $1
                         ORDER BY next_load_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING o.*""", now)


async def reload_due(pool: asyncpg.Pool, now: dt.datetime, region: str, *, limit: int = 20) -> int:
    """Reload the orders whose time came (each failure is on its order); how many were tried."""
    tried = 0
    while tried < limit:
        async with pool.acquire() as conn:
            order = await _claim_due(conn, now)
            if order is None:
                break
            tried += 1
            try:
                # Its outcome is stored in words: in the call centre's language (the page shows it as stored).
                with i18n.using(await appsettings.centre_language(conn)):
                    await reload(conn, order, region)
            except SourceError as e:
                if order["reload_minutes"] and order["reload_minutes"] > RETRY_MINUTES:
                    await conn.execute("UPDATE orders SET next_load_at = $2 WHERE id = $1", order["id"],
                                       now + dt.timedelta(minutes=RETRY_MINUTES))
                log.info("order %d: reload failed (%s)", order["id"], e)
    return tried
