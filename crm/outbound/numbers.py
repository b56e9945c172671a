"""A dial campaign's numbers (issue 22): loaded from the Clients list (a tag filter or a saved filter),
an Excel sheet or the campaign's order, each read as E.164, linked to the card that has it, given the
called person's time zone (the card's own, else the number's), and stored pending, or skipped with its
reason: invalid, on the do-not-call list (global or the campaign's) or listed twice. A load adds to
the numbers already there; it never dials anything itself."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from crm.contact_lists import NAME_HEADERS, TagFilter, cell, column, filter_where, phone_column
from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.i18n import ngettext
from crm.outbound import model
from crm.phones import InvalidPhone, normalize_phone
from crm.sms.campaigns.model import zone_of

log = logging.getLogger(__name__)

BATCH = 1000
PENDING, DIALING, DONE, SKIPPED = "pending", "dialing", "done", "skipped"
NUMBER_STATUSES = (PENDING, DIALING, DONE, SKIPPED)


@dataclass(frozen=True)
class Candidate:
    """A number as a source lists it, with what the source knows of it."""
    number: str
    name: str = ""
    counterparty_id: int | None = None
    order_row_id: int | None = None
    card_zone: str = ""


@dataclass(frozen=True)
class Checked:
    candidate: Candidate
    normalized: str | None
    tz: str
    skip_reason: str  # '' or one of model.SKIP_REASONS


@dataclass(frozen=True)
class Loaded:
    loaded: int
    skipped: dict[str, int]

    def summary(self) -> str:
        """"12 loaded, 3 skipped: 2 on the do-not-call list, 1 invalid number" in the reader's language."""
        text = ngettext("%(n)d number loaded", "%(n)d numbers loaded", self.loaded) % {"n": self.loaded}
        total = sum(self.skipped.values())
        if not total:
            return text
        reasons = ", ".join(f"{n} {_(model.SKIP_REASONS[r])}" for r, n in sorted(self.skipped.items()))
        return text + "; " + ngettext("%(n)d skipped", "%(n)d skipped", total) % {"n": total} + ": " + reasons


def e164(raw: str, region: str) -> str | None:
    """The number as E.164 when it is a valid outside number; None otherwise (short, garbled)."""
    try:
        number = normalize_phone(raw, region)
    except InvalidPhone:
        return None
    return number if number.startswith("+") else None


def check(candidates: Iterable[Candidate], region: str, fallback_zone: str, dnc: set[str],
          listed: set[str]) -> list[Checked]:
    """Each candidate read and judged: pure. `dnc`: the numbers the campaign may not call; `listed`:
    those it already has (updated with the ones taken here, so a repeat within the load is a duplicate)."""
    out = []
    for c in candidates:
        normalized = e164(c.number, region)
        if normalized is None:
            out.append(Checked(c, None, "", model.SKIP_INVALID))
            continue
        zone = c.card_zone or zone_of(normalized, fallback_zone)
        if normalized in dnc:
            reason = model.SKIP_DNC
        elif normalized in listed:
            reason = model.SKIP_DUPLICATE
        else:
            reason = ""
            listed.add(normalized)
        out.append(Checked(c, normalized, zone, reason))
    return out


async def _cards(conn: asyncpg.Connection, numbers: list[str]) -> dict[str, asyncpg.Record]:
    """The card of each number (the oldest when several have it)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (k.normalized) k.normalized, c.id, c.display_name, coalesce(c.timezone, '') AS tz
           FROM contacts k JOIN counterparties c ON c.id = k.counterparty_id AND c.deleted_at IS NULL
           WHERE k.normalized = ANY($1::text[]) AND k.deleted_at IS NULL ORDER BY k.normalized, c.id""", numbers)
    return {r["normalized"]: r for r in rows}


async def _store(conn: asyncpg.Connection, campaign_id: int, candidates: Sequence[Candidate], region: str,
                 fallback_zone: str, listed: set[str], counts: Counter) -> None:
    readable = [n for n in (e164(c.number, region) for c in candidates) if n]
    cards = await _cards(conn, readable)
    dnc = {r["number"] for r in await conn.fetch(
        "SELECT number FROM dnc_numbers WHERE number = ANY($1::text[]) AND (campaign_id IS NULL OR campaign_id = $2)",
        readable, campaign_id)}
    linked = []
    for c in candidates:
        card = cards.get(e164(c.number, region) or "")
        if card is not None and c.counterparty_id is None:
            c = Candidate(c.number, c.name or card["display_name"], card["id"], c.order_row_id, card["tz"])
        elif card is not None and not c.card_zone:
            c = Candidate(c.number, c.name or card["display_name"], c.counterparty_id, c.order_row_id, card["tz"])
        linked.append(c)
    checked = check(linked, region, fallback_zone, dnc, listed)
    counts.update(k.skip_reason for k in checked)
    await conn.execute(
        """INSERT INTO dial_campaign_numbers (campaign_id, counterparty_id, order_row_id, number, number_normalized,
                                              name, tz, status, skip_reason)
           SELECT $1, x.counterparty_id, x.order_row_id, x.number, x.normalized, x.name, x.tz,
                  CASE WHEN x.reason = '' THEN 'pending' ELSE 'skipped' END, x.reason
           FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                WITH ORDINALITY AS x (counterparty_id, order_row_id, number, normalized, name, tz, reason, n)
           ORDER BY x.n""",
        campaign_id, [k.candidate.counterparty_id for k in checked], [k.candidate.order_row_id for k in checked],
        [k.candidate.number[:50] for k in checked], [k.normalized for k in checked],
        [k.candidate.name[:200] for k in checked], [k.tz for k in checked], [k.skip_reason for k in checked])


async def load(conn: asyncpg.Connection, campaign_id: int, candidates: Sequence[Candidate], region: str,
               fallback_zone: str) -> Loaded:
    """Store the candidates as the campaign's numbers (in one transaction), checked in batches."""
    counts: Counter = Counter()
    async with conn.transaction():
        # Two loads of one campaign at once would each miss the other's numbers as duplicates.
        await conn.execute("SELECT 1 FROM dial_campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        listed = {r["number_normalized"] for r in await conn.fetch(
            "SELECT number_normalized FROM dial_campaign_numbers WHERE campaign_id = $1 AND status <> 'skipped' "
            "AND number_normalized IS NOT NULL", campaign_id)}
        for start in range(0, len(candidates), BATCH):
            await _store(conn, campaign_id, candidates[start:start + BATCH], region, fallback_zone, listed, counts)
    loaded = Loaded(counts.pop("", 0), dict(counts))
    log.info("dial campaign %d: %d numbers loaded, skipped %s", campaign_id, loaded.loaded, loaded.skipped)
    return loaded


async def from_filter(conn: asyncpg.Connection, condition: TagFilter, region: str) -> list[Candidate]:
    """The clients the Clients list shows with these conditions, each at their first phone."""
    where = filter_where(condition, region)
    rows = await conn.fetch(
        f"""SELECT c.id, c.display_name, coalesce(c.timezone, '') AS tz, coalesce(k.value, '') AS number
            FROM counterparties c
            LEFT JOIN LATERAL (SELECT value FROM contacts k WHERE k.counterparty_id = c.id
                               AND k.kind = 'phone' AND k.deleted_at IS NULL ORDER BY k.id LIMIT 1) k ON true
            WHERE {where.all} ORDER BY c.id""", *where.args)
    return [Candidate(r["number"], r["display_name"], r["id"], None, r["tz"]) for r in rows]


def from_rows(header: list[str], rows: Sequence[tuple[int, list]]) -> list[Candidate]:
    """An Excel sheet's rows (crm.imports.reader.read_rows): a phone column, a name column if any."""
    phone_at = phone_column(header)
    name_at = column(header, NAME_HEADERS)
    return [Candidate(cell(values, phone_at), cell(values, name_at)) for _n, values in rows]


async def from_order(conn: asyncpg.Connection, order_id: int | None) -> list[Candidate]:
    """The rows of the campaign's order still in its list."""
    if order_id is None:
        raise ValidationError({"source": _("the campaign has no order")})
    rows = await conn.fetch(
        """SELECT r.id, r.phone, r.name, r.counterparty_id, coalesce(c.timezone, '') AS tz
           FROM order_rows r LEFT JOIN counterparties c ON c.id = r.counterparty_id
           WHERE r.order_id = $1 AND r.removed_at IS NULL ORDER BY r.id""", order_id)
    return [Candidate(r["phone"], r["name"], r["counterparty_id"], r["id"], r["tz"]) for r in rows]


async def totals(conn: asyncpg.Connection, campaign_id: int) -> dict[str, int]:
    """How many numbers the campaign has in each status, and in all."""
    rows = await conn.fetch("SELECT status, count(*) AS n FROM dial_campaign_numbers WHERE campaign_id = $1 "
                            "GROUP BY status", campaign_id)
    counts = {s: 0 for s in NUMBER_STATUSES} | {r["status"]: r["n"] for r in rows}
    return {**counts, "all": sum(counts.values())}


async def listing(conn: asyncpg.Connection, campaign_id: int, status: str | None, limit: int,
                  offset: int) -> list[asyncpg.Record]:
    """The campaign's numbers for its page, in load order; `status` one of NUMBER_STATUSES or None."""
    return await conn.fetch(
        """SELECT n.id, n.number, n.number_normalized, n.name, n.counterparty_id, n.tz, n.status, n.skip_reason,
                  n.attempts, n.last_outcome, n.next_at
           FROM dial_campaign_numbers n WHERE n.campaign_id = $1 AND ($2::text IS NULL OR n.status = $2)
           ORDER BY n.id LIMIT $3 OFFSET $4""", campaign_id, status, limit, offset)
