"""The do-not-call list (issue 22): numbers no campaign calls (campaign_id NULL) or one campaign does
not. An added number takes effect at once: the pending numbers of unfinished campaigns it covers are
skipped ('dnc'); a removed one lets later loads list the number again (what was skipped stays
skipped). Every change is audited (entity 'dnc_number')."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.contact_lists import cell, column, phone_column
from crm.errors import NotFound, ValidationError
from crm.i18n import gettext as _
from crm.outbound.numbers import e164

log = logging.getLogger(__name__)

REASON_HEADERS = {"reason", "comment", "причина", "комментарий"}
BATCH = 1000


@dataclass(frozen=True)
class Imported:
    added: int
    already: int
    invalid: int


async def _skip_pending(conn: asyncpg.Connection, numbers: list[str], campaign_id: int | None) -> int:
    status = await conn.execute(
        """UPDATE dial_campaign_numbers n SET status = 'skipped', skip_reason = 'dnc', offered_to = NULL,
                  lease_until = NULL, updated_at = now()
           FROM dial_campaigns c
           WHERE c.id = n.campaign_id AND c.status IN ('draft', 'running', 'paused') AND n.status = 'pending'
           AND n.number_normalized = ANY($1::text[]) AND ($2::bigint IS NULL OR n.campaign_id = $2)""",
        numbers, campaign_id)
    return int(status.split()[-1])


async def _insert(conn: asyncpg.Connection, user_id: int, numbers: list[str], reasons: list[str],
                  campaign_id: int | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """INSERT INTO dnc_numbers (number, campaign_id, reason, added_by)
           SELECT x.number, $3, x.reason, $4 FROM unnest($1::text[], $2::text[]) AS x (number, reason)
           ON CONFLICT (number, coalesce(campaign_id, 0)) DO NOTHING RETURNING id, number, reason""",
        numbers, reasons, campaign_id, user_id)


async def add(conn: asyncpg.Connection, user, number: str, region: str, *, campaign_id: int | None = None,
              reason: str = "") -> int | None:
    """Put one number on the list (the campaign's, or the global one); its id, None when it was there."""
    normalized = e164(number, region)
    if normalized is None:
        raise ValidationError({"number": _("%(value)s is not a valid phone number") % {"value": repr(number)}})
    async with conn.transaction():
        rows = await _insert(conn, user["id"], [normalized], [reason[:200]], campaign_id)
        if not rows:
            return None
        skipped = await _skip_pending(conn, [normalized], campaign_id)
        await audit.record(conn, user["id"], "dnc_number", rows[0]["id"], "create", audit.created(
            {"number": normalized, "campaign_id": campaign_id, "reason": rows[0]["reason"]}))
    log.info("do-not-call %s added (campaign %s) by user %d; %d pending numbers skipped", normalized, campaign_id,
             user["id"], skipped)
    return rows[0]["id"]


async def import_rows(conn: asyncpg.Connection, user, header: list[str], rows: Sequence[tuple[int, list]],
                      region: str, *, campaign_id: int | None = None) -> Imported:
    """An Excel sheet's numbers (a Phone column; a Reason column if any) put on the list."""
    phone_at = phone_column(header)
    reason_at = column(header, REASON_HEADERS)
    seen: dict[str, str] = {}
    invalid = 0
    for _n, values in rows:
        normalized = e164(cell(values, phone_at), region)
        if normalized is None:
            invalid += 1
        else:
            seen.setdefault(normalized, cell(values, reason_at)[:200])
    numbers = list(seen)
    added = 0
    async with conn.transaction():
        for start in range(0, len(numbers), BATCH):
            chunk = numbers[start:start + BATCH]
            inserted = await _insert(conn, user["id"], chunk, [seen[n] for n in chunk], campaign_id)
            added += len(inserted)
            await _skip_pending(conn, [r["number"] for r in inserted], campaign_id)
        await audit.record(conn, user["id"], "dnc_number", None, "import",
                           {"campaign_id": campaign_id, "added": added, "invalid": invalid})
    log.info("do-not-call import by user %d (campaign %s): %d added, %d invalid", user["id"], campaign_id, added,
             invalid)
    return Imported(added, len(rows) - invalid - added, invalid)


async def remove(conn: asyncpg.Connection, user, entry_id: int) -> None:
    async with conn.transaction():
        row = await conn.fetchrow("DELETE FROM dnc_numbers WHERE id = $1 RETURNING number, campaign_id, reason",
                                  entry_id)
        if row is None:
            raise NotFound(_("no such do-not-call entry"))
        await audit.record(conn, user["id"], "dnc_number", entry_id, "delete", audit.deleted(dict(row)))
    log.info("do-not-call %s removed (campaign %s) by user %d", row["number"], row["campaign_id"], user["id"])


SCOPES = ("all", "global", "campaign")
_SEARCH = """($1 = '' OR position($1 IN d.number) > 0)
             AND ($2 = 'all' OR ($2 = 'global' AND d.campaign_id IS NULL)
                  OR ($2 = 'campaign' AND d.campaign_id = $3::bigint))"""


def _args(q: str, scope: str, campaign_id: int | None) -> list:
    """A search: digits of the number; all entries, the global ones, or one campaign's."""
    return ["".join(ch for ch in q if ch.isdigit()), scope if scope in SCOPES else "all", campaign_id]


async def count(conn: asyncpg.Connection, q: str, scope: str, campaign_id: int | None) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM dnc_numbers d WHERE {_SEARCH}", *_args(q, scope, campaign_id))


async def search(conn: asyncpg.Connection, q: str, scope: str, campaign_id: int | None, limit: int,
                 offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT d.id, d.number, d.campaign_id, dc.name AS campaign_name, d.reason, d.created_at,
                   u.full_name AS added_by_name
            FROM dnc_numbers d LEFT JOIN dial_campaigns dc ON dc.id = d.campaign_id
            LEFT JOIN users u ON u.id = d.added_by
            WHERE {_SEARCH} ORDER BY d.id DESC LIMIT $4 OFFSET $5""", *_args(q, scope, campaign_id), limit, offset)


async def listed(conn: asyncpg.Connection, numbers: list[str]) -> set[str]:
    """Which of these numbers the global list holds (for the card's phones)."""
    rows = await conn.fetch("SELECT number FROM dnc_numbers WHERE campaign_id IS NULL AND number = ANY($1::text[])",
                            numbers)
    return {r["number"] for r in rows}
