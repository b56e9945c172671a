"""Runs the scheduled calls whose time has come, and settles those the PBX dialled.

run_due claims due rows with FOR UPDATE SKIP LOCKED and moves each in the same transaction, so two
runners (two web workers, or a tick that overlaps the next) never run a call twice; a call whose time
passed while the CRM was down is run late, once, on the first tick after. A 'remind' call queues a
notification (the browser shows it, the notifier mails it); a 'dial' call files a click-to-call request,
which the Stasis app takes: it rings the user's phone, then the number. settle() ends a dialled call
with its request ('done', or 'failed' with the reason) and notes when a reminder's e-mail went."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import asyncpg

from crm import formatting, i18n, notifications
from crm.clicktocall import queries as c2c_q
from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.request_rows import PENDING_SECONDS
from crm.scheduled_calls import model

log = logging.getLogger(__name__)

# A click-to-call request taken by the Stasis app and not heard of for this long will never end.
STUCK_HOURS = 12

BATCH = 50


def url_of(call_id: int) -> str:
    return f"/scheduled-calls/{call_id}"


async def _remind(conn: asyncpg.Connection, row: asyncpg.Record, now: dt.datetime, centre_zone: str) -> None:
    user_zone = await conn.fetchval("SELECT timezone FROM users WHERE id = $1", row["user_id"])
    with i18n.using(await notifications.recipient_language(conn, row["user_id"])):
        due = row["due_at"].astimezone(_zone(user_zone, centre_zone))
        title = _("Call %(number)s") % {"number": row["number"]}
        if row["counterparty_name"]:
            title += f" ({row['counterparty_name']})"
        body = _("You planned this call for %(when)s.") % {"when": formatting.day_and_time(due.date(), due)}
        if now - row["due_at"] > model.GRACE:
            body += " " + _("The reminder is late: the CRM was not running at that time.")
        if row["note"]:
            body += "\n" + row["note"]
    await notifications.queue(conn, row["user_id"], "scheduled_call", title, body, url_of(row["id"]))
    await conn.execute("UPDATE scheduled_calls SET status = 'reminded', updated_at = now() WHERE id = $1", row["id"])
    log.info("scheduled call %d: %s reminded to call %s", row["id"], row["user_name"], row["number"])


def _zone(user_zone: str | None, centre_zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user_zone or centre_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(centre_zone)


async def _to_campaign(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    """A campaign's callback: its number is due now (crm/scheduled_calls/queries.create_campaign_callback
    made it wait); the campaign dials it, the client first. Done once handed over; failed when the campaign
    no longer dials."""
    running = await conn.fetchval("SELECT status IN ('running', 'paused') FROM dial_campaigns WHERE id = $1",
                                  row["campaign_id"])
    if not running:
        await conn.execute("UPDATE scheduled_calls SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
                           row["id"], model.CAMPAIGN_OVER)
        log.warning("scheduled call %d: campaign %d is over; %s not dialled", row["id"], row["campaign_id"],
                    row["number"])
        return
    await conn.execute(
        """UPDATE dial_campaign_numbers SET status = 'pending', next_at = least(next_at, now()), updated_at = now()
           WHERE campaign_id = $1 AND number = $2 AND status = 'pending'""", row["campaign_id"], row["number"])
    await conn.execute("UPDATE scheduled_calls SET status = 'done', updated_at = now() WHERE id = $1", row["id"])
    await conn.execute("SELECT pg_notify('pbxcrm_dial_campaigns', $1)", str(row["campaign_id"]))
    log.info("scheduled call %d: %s handed to campaign %d, the client first", row["id"], row["number"],
             row["campaign_id"])


async def _dial(conn: asyncpg.Connection, row: asyncpg.Record, region: str) -> None:
    user = await conn.fetchrow("SELECT id, full_name, extension FROM users WHERE id = $1", row["user_id"])
    try:
        request_id = await c2c_q.request_call(conn, user=user, number=row["number"],
                                              requested_by=row["created_by"] or row["user_id"], region=region,
                                              order_id=row["order_id"])
    except ValidationError as e:
        reason = model.NO_EXTENSION if "user" in e.errors else "; ".join(str(v) for v in e.errors.values())
        await conn.execute("UPDATE scheduled_calls SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
                           row["id"], reason[:500])
        log.warning("scheduled call %d: %s not dialled: %s", row["id"], row["number"], reason)
        return
    await conn.execute(
        "UPDATE scheduled_calls SET status = 'dialing', request_id = $2, updated_at = now() WHERE id = $1",
        row["id"], request_id)
    log.info("scheduled call %d: click-to-call request %d rings extension %s, then %s",
             row["id"], request_id, user["extension"], row["number"])


async def run_due(conn: asyncpg.Connection, now: dt.datetime, *, region: str, centre_zone: str = "UTC",
                  limit: int = BATCH) -> int:
    """Run every pending scheduled call due by `now` (up to `limit`); the number run."""
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT s.id, s.user_id, s.number, s.action, s.note, s.due_at, s.order_id, s.created_by, s.campaign_id,
                      u.full_name AS user_name, coalesce(cp.display_name, '') AS counterparty_name
               FROM scheduled_calls s JOIN users u ON u.id = s.user_id
               LEFT JOIN counterparties cp ON cp.id = s.counterparty_id
               WHERE s.status = 'pending' AND s.due_at <= $1
               ORDER BY s.due_at, s.id LIMIT $2
               FOR UPDATE OF s SKIP LOCKED""", now, limit)
        for row in rows:
            if row["action"] == model.DIAL and row["campaign_id"] is not None:
                await _to_campaign(conn, row)
            elif row["action"] == model.DIAL:
                await _dial(conn, row, region)
            else:
                await _remind(conn, row, now, centre_zone)
    return len(rows)


async def settle(conn: asyncpg.Connection) -> int:
    """End the dialled calls whose click-to-call request has ended; note the reminders' e-mails. The
    number of calls ended."""
    rows = await conn.fetch(
        f"""SELECT s.id, r.status AS request_status, r.error AS request_error,
                  r.created_at <= now() - interval '{PENDING_SECONDS} seconds' AS expired,
                  r.updated_at <= now() - interval '{STUCK_HOURS} hours' AS stuck
            FROM scheduled_calls s JOIN call_requests r ON r.id = s.request_id
            WHERE s.status = 'dialing' AND (r.status IN ('done', 'failed')
                  OR (r.status = 'pending' AND r.created_at <= now() - interval '{PENDING_SECONDS} seconds')
                  OR r.updated_at <= now() - interval '{STUCK_HOURS} hours')""")
    ended = 0
    for row in rows:
        end = model.settled(row["request_status"], row["request_error"], row["expired"], row["stuck"])
        if end is None:
            continue
        status, reason = end
        done = await conn.execute(
            """UPDATE scheduled_calls SET status = $2, error = $3, updated_at = now()
               WHERE id = $1 AND status = 'dialing'""", row["id"], status, reason[:500])
        if done == "UPDATE 1":
            ended += 1
            log.info("scheduled call %d: %s%s", row["id"], status, f" ({reason})" if reason else "")
    await conn.execute(
        """UPDATE scheduled_calls s SET emailed_at = n.email_sent_at
           FROM notifications n
           WHERE s.status = 'reminded' AND s.emailed_at IS NULL AND n.kind = 'scheduled_call'
             AND n.user_id = s.user_id AND n.url = '/scheduled-calls/' || s.id AND n.email_sent_at IS NOT NULL""")
    return ended
