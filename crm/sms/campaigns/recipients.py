"""A campaign's recipients (issue 21, I2): listed from a tag filter, a saved Clients filter or an Excel
file, then checked in batches (`prepare`): the text rendered, the number read, its time zone found;
opted-out, invalid, too long and repeated numbers skipped with their reason. Memory stays flat whatever
the list's size: a filter is one INSERT ... SELECT, a file is inserted in chunks, checks go in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
import phonenumbers

from crm.contact_lists import FIRST_NAME_HEADERS, NAME_HEADERS, cell, column, filter_where, phone_column
from crm.contact_lists import TagFilter as TagFilter
from crm.contact_lists import saved_filter as saved_filter
from crm.phones import InvalidPhone, normalize_phone
from crm.sms import model as sms_model
from crm.sms.campaigns import model

log = logging.getLogger(__name__)

BATCH = 1000


async def clear(conn: asyncpg.Connection, campaign_id: int) -> None:
    await conn.execute("DELETE FROM sms_campaign_recipients WHERE campaign_id = $1", campaign_id)


async def from_filter(conn: asyncpg.Connection, campaign_id: int, condition: TagFilter, region: str) -> int:
    """The clients the Clients list would show with these conditions (every user sees every client:
    crm/counterparties/permissions.can_view), each at their first phone. The number of rows listed."""
    where = filter_where(condition, region)
    n = len(where.args)
    status = await conn.execute(
        f"""INSERT INTO sms_campaign_recipients (campaign_id, counterparty_id, phone, name, first_name, manager)
            SELECT ${n + 1}, c.id, coalesce(k.normalized, ''), c.display_name, c.first_name,
                   coalesce(u.full_name, '')
            FROM counterparties c
            LEFT JOIN users u ON u.id = c.responsible_user_id
            LEFT JOIN LATERAL (SELECT normalized FROM contacts k WHERE k.counterparty_id = c.id
                               AND k.kind = 'phone' AND k.deleted_at IS NULL ORDER BY k.id LIMIT 1) k ON true
            WHERE {where.all} ORDER BY c.id""", *where.args, campaign_id)
    return int(status.split()[-1])


async def from_rows(conn: asyncpg.Connection, campaign_id: int, header: list[str],
                    rows: Sequence[tuple[int, list]], region: str) -> int:
    """An Excel sheet's rows (crm.imports.reader.read_rows): a phone column, a name column if any.
    A number is matched to its card, which gives the name and manager when the file has none."""
    phone_at = phone_column(header)
    name_at = column(header, NAME_HEADERS)
    first_at = column(header, FIRST_NAME_HEADERS - {header[name_at].casefold()} if name_at is not None
                      else FIRST_NAME_HEADERS)
    for start in range(0, len(rows), BATCH):
        chunk = []
        for _number, values in rows[start:start + BATCH]:
            raw = cell(values, phone_at)
            try:
                phone = normalize_phone(raw, region)
            except InvalidPhone:
                phone = raw[:50]
            chunk.append((phone, cell(values, name_at)[:200], cell(values, first_at)[:100]))
        await conn.execute(
            """INSERT INTO sms_campaign_recipients (campaign_id, counterparty_id, phone, name, first_name, manager)
               SELECT $1, c.id, r.phone,
                      CASE WHEN r.name <> '' THEN r.name ELSE coalesce(c.display_name, '') END,
                      CASE WHEN r.first <> '' OR r.name <> '' THEN r.first ELSE coalesce(c.first_name, '') END,
                      coalesce(u.full_name, '')
               FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r (phone, name, first, n)
               LEFT JOIN contacts k ON k.normalized = r.phone AND k.deleted_at IS NULL AND r.phone <> ''
               LEFT JOIN counterparties c ON c.id = k.counterparty_id AND c.deleted_at IS NULL
               LEFT JOIN users u ON u.id = c.responsible_user_id
               ORDER BY r.n""",
            campaign_id, [c[0] for c in chunk], [c[1] for c in chunk], [c[2] for c in chunk])
    return len(rows)


def check_recipient(body: str, phone: str, values: model.Values, max_parts: int,
                    fallback_zone: str, card_zone: str = "") -> tuple[str, int, str, str]:
    """(text, parts, time zone, skip reason or '') for one recipient: pure. The zone is the card's own
    (counterparties.timezone) if it has one, else the number's (model.zone_of)."""
    text = model.render(body, values)
    parts = sms_model.split(text).parts
    try:
        valid = phone.startswith("+") and phonenumbers.is_valid_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        return text, parts, "", model.INVALID_NUMBER
    zone = card_zone or model.zone_of(phone, fallback_zone)
    return text, parts, zone, (model.TOO_LONG if parts > max_parts else "")


async def prepare(conn: asyncpg.Connection, campaign_id: int, fallback_zone: str) -> None:
    """Check the listed (new) recipients in batches, then skip repeated and opted-out numbers and
    remember the campaign's time zones."""
    campaign = await conn.fetchrow("SELECT body, max_parts FROM sms_campaigns WHERE id = $1", campaign_id)
    model.check_text(campaign["body"])
    last = 0
    while True:
        batch = await conn.fetch(
            "SELECT r.id, r.phone, r.name, r.first_name, r.manager, coalesce(c.timezone, '') AS card_zone "
            "FROM sms_campaign_recipients r LEFT JOIN counterparties c ON c.id = r.counterparty_id "
            "WHERE r.campaign_id = $1 AND r.status = 'new' AND r.id > $2 ORDER BY r.id LIMIT $3",
            campaign_id, last, BATCH)
        if not batch:
            break
        last = batch[-1]["id"]
        checked = [check_recipient(campaign["body"], r["phone"], model.Values(r["name"], r["first_name"],
                                                                               r["manager"]),
                                   campaign["max_parts"], fallback_zone, r["card_zone"]) for r in batch]
        await conn.execute(
            """UPDATE sms_campaign_recipients r
               SET body = x.body, parts = x.parts, tz = x.tz, skip_reason = x.reason,
                   status = CASE WHEN x.reason = '' THEN 'pending' ELSE 'skipped' END
               FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[], $5::text[])
                    AS x (id, body, parts, tz, reason)
               WHERE r.id = x.id""",
            [r["id"] for r in batch], [c[0] for c in checked], [c[1] for c in checked], [c[2] for c in checked],
            [c[3] for c in checked])
    await conn.execute(
        """UPDATE sms_campaign_recipients r SET status = 'skipped', skip_reason = 'duplicate'
           FROM (SELECT id, row_number() OVER (PARTITION BY phone ORDER BY id) AS n FROM sms_campaign_recipients
                 WHERE campaign_id = $1 AND status = 'pending') d
           WHERE r.id = d.id AND d.n > 1""", campaign_id)
    await skip_opted_out(conn, campaign_id)
    await conn.execute(
        """UPDATE sms_campaigns SET zones = coalesce((SELECT array_agg(DISTINCT tz)
               FROM sms_campaign_recipients WHERE campaign_id = $1 AND status = 'pending'), '{}')
           WHERE id = $1""", campaign_id)


_OPTED_OUT = """(EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.phone = r.phone)
                 OR EXISTS (SELECT 1 FROM counterparties c WHERE c.id = r.counterparty_id
                            AND c.sms_opt_out_at IS NOT NULL))"""


async def skip_opted_out(conn: asyncpg.Connection, campaign_id: int, ids: list[int] | None = None) -> list[int]:
    """Skip the pending recipients (of `ids`, or all) who said STOP or whose card says do not text."""
    rows = await conn.fetch(
        f"""UPDATE sms_campaign_recipients r SET status = 'skipped', skip_reason = 'opted_out'
            WHERE r.campaign_id = $1 AND r.status = 'pending' AND ($2::bigint[] IS NULL OR r.id = ANY($2))
            AND {_OPTED_OUT} RETURNING r.id""", campaign_id, ids)
    return [r["id"] for r in rows]
