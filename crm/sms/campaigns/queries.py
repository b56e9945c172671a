"""SMS campaigns' SQL (issue 21, I2): create and change a draft, move it through its statuses (checked by
model.py, audited, the people concerned told), its totals and per-recipient results."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass

import asyncpg

from crm import audit, i18n, notifications
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import N_
from crm.i18n import gettext as _
from crm.roles import sees_everything
from crm.sms import queries as sms_queries
from crm.sms.campaigns import model

log = logging.getLogger(__name__)
CHANNEL = "pbxcrm_sms_campaigns"  # NOTIFY payload: a campaign id whose status or progress changed


@dataclass(frozen=True)
class CampaignInput:
    name: str
    body: str
    own_number: str | None = None
    starts_at: dt.datetime | None = None
    window_from: int = 9
    window_to: int = 21
    max_parts: int = 2


def _check(data: CampaignInput) -> None:
    errors = {}
    if not 0 < len(data.name.strip()) <= 200:
        errors["name"] = _("a campaign name is 1 to %(num)d characters") % {"num": 200}
    try:
        model.check_text(data.body)
    except model.CampaignError as e:
        errors["body"] = str(e)
    try:
        model.check_window(data.window_from, data.window_to)
    except model.CampaignError as e:
        errors["window_from"] = str(e)
    if not 1 <= data.max_parts <= 10:
        errors["max_parts"] = _("from 1 to 10 parts")
    if errors:
        raise ValidationError(errors)


async def _check_number(conn: asyncpg.Connection, own_number: str | None) -> None:
    if own_number and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sms_numbers WHERE number = $1)",
                                              own_number):
        raise ValidationError({"own_number": _("no such sending number")})


async def create(conn: asyncpg.Connection, user: Mapping, data: CampaignInput) -> int:
    _check(data)
    await _check_number(conn, data.own_number)
    campaign_id = await conn.fetchval(
        """INSERT INTO sms_campaigns (name, body, author_id, own_number, starts_at, window_from, window_to, max_parts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        data.name.strip(), data.body, user["id"], data.own_number or None, data.starts_at, data.window_from,
        data.window_to, data.max_parts)
    await audit.record(conn, user["id"], "sms_campaign", campaign_id, "create", audit.created(asdict(data)))
    return campaign_id


async def update(conn: asyncpg.Connection, user: Mapping, campaign_id: int, data: CampaignInput) -> None:
    _check(data)
    await _check_number(conn, data.own_number)
    before = await get(conn, user, campaign_id, lock=True)
    if not model.may_edit(user, before):
        raise Conflict(_("only a draft can be changed"))
    await conn.execute(
        """UPDATE sms_campaigns SET name = $2, body = $3, own_number = $4, starts_at = $5, window_from = $6,
                  window_to = $7, max_parts = $8, updated_at = now() WHERE id = $1""",
        campaign_id, data.name.strip(), data.body, data.own_number or None, data.starts_at, data.window_from,
        data.window_to, data.max_parts)
    await audit.record(conn, user["id"], "sms_campaign", campaign_id, "update",
                       audit.diff(dict(before), asdict(data), asdict(data).keys()))


async def get(conn: asyncpg.Connection, user: Mapping, campaign_id: int, *, lock: bool = False) -> asyncpg.Record:
    """The campaign if the user may see it (NotFound otherwise, as if it did not exist)."""
    row = await conn.fetchrow(
        f"""SELECT c.*, a.full_name AS author_name, p.full_name AS approver_name FROM sms_campaigns c
            JOIN users a ON a.id = c.author_id LEFT JOIN users p ON p.id = c.approved_by
            WHERE c.id = $1 {"FOR UPDATE OF c" if lock else ""}""", campaign_id)
    if row is None or not model.sees(user, row):
        raise NotFound(_("no such campaign"))
    return row


async def count_visible(conn: asyncpg.Connection, user: Mapping) -> int:
    return await conn.fetchval("SELECT count(*) FROM sms_campaigns WHERE $1 OR author_id = $2",
                               sees_everything(user), user["id"])


async def visible(conn: asyncpg.Connection, user: Mapping, limit: int, offset: int) -> list[asyncpg.Record]:
    """The campaigns the user sees, newest first, with their recipients' counts."""
    return await conn.fetch(
        """SELECT c.id, c.name, c.status, c.starts_at, c.created_at, a.full_name AS author_name,
                  (SELECT count(*) FROM sms_campaign_recipients r WHERE r.campaign_id = c.id) AS recipients
           FROM sms_campaigns c JOIN users a ON a.id = c.author_id
           WHERE $1 OR c.author_id = $2 ORDER BY c.id DESC LIMIT $3 OFFSET $4""",
        sees_everything(user), user["id"], limit, offset)


async def act(conn: asyncpg.Connection, user: Mapping, campaign_id: int, action: str) -> str:
    """A user's move (submit, approve, return, pause, resume, cancel); the new status."""
    async with conn.transaction():
        campaign = await get(conn, user, campaign_id, lock=True)
        if action not in model.ACTIONS or not model.may(user, campaign, action):
            raise Forbidden(_("only a supervisor or an admin approves a campaign") if action == model.APPROVE
                            else _("you may not do that to this campaign"))
        try:
            status = model.next_status(action, campaign["status"])
        except model.CampaignError as e:
            raise Conflict(str(e)) from None
        if action == model.SUBMIT and not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM sms_campaign_recipients WHERE campaign_id = $1 AND status = 'pending')",
                campaign_id):
            raise Conflict(_("the campaign has no one to send to"))
        approval = action == model.APPROVE
        await conn.execute(
            """UPDATE sms_campaigns SET status = $2, updated_at = now(),
                      approved_by = CASE WHEN $3 THEN $4 WHEN $2 = 'draft' THEN NULL ELSE approved_by END,
                      approved_at = CASE WHEN $3 THEN now() WHEN $2 = 'draft' THEN NULL ELSE approved_at END,
                      finished_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE finished_at END
               WHERE id = $1""", campaign_id, status, approval, user["id"])
        if status == model.CANCELLED:
            await _cancel_rest(conn, campaign_id)
        await audit.record(conn, user["id"], "sms_campaign", campaign_id, action,
                           {"status": [campaign["status"], status]})
        await _tell(conn, user, campaign, action)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(campaign_id))
    log.info("sms campaign %d %s by user %d: %s -> %s", campaign_id, action, user["id"], campaign["status"], status)
    return status


async def _cancel_rest(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Nobody more gets it: the pending are skipped, the queued the worker has not taken are failed."""
    await conn.execute("UPDATE sms_campaign_recipients SET status = 'skipped', skip_reason = 'cancelled' "
                       "WHERE campaign_id = $1 AND status IN ('new', 'pending')", campaign_id)
    waiting = await conn.fetch("SELECT id FROM sms_messages WHERE campaign_id = $1 AND status = 'queued'", campaign_id)
    for row in waiting:
        await sms_queries.fail(conn, row["id"], "campaign cancelled")


_WAITS = N_("SMS campaign %(name)s waits for your approval")
_APPROVED = N_("SMS campaign %(name)s is approved")
_RETURNED = N_("SMS campaign %(name)s is returned for changes")


async def _tell(conn: asyncpg.Connection, actor: Mapping, campaign: Mapping, action: str) -> None:
    """Waiting for approval: the supervisors and admins are told; approved or returned: the author."""
    url = f"/sms/campaigns/{campaign['id']}"
    if action == model.SUBMIT:
        users = [r["id"] for r in await conn.fetch(
            "SELECT id FROM users WHERE role IN ('supervisor', 'admin') AND deleted_at IS NULL AND NOT is_blocked "
            "AND id <> $1", actor["id"])]
        title = _WAITS
    elif action in (model.APPROVE, model.RETURN) and campaign["author_id"] != actor["id"]:
        users = [campaign["author_id"]]
        title = _APPROVED if action == model.APPROVE else _RETURNED
    else:
        return
    for user_id in users:
        with i18n.using(await notifications.recipient_language(conn, user_id)):
            await notifications.queue(conn, user_id, "sms_campaign", _(title) % {"name": campaign["name"]}, "", url)


async def totals(conn: asyncpg.Connection, campaign_id: int) -> dict[str, int]:
    """Counts for the progress and the totals: recipients by their status, messages by theirs."""
    out = {k: 0 for k in ("recipients", "pending", "queued", "skipped", "sending", "sent", "delivered", "failed")}
    for row in await conn.fetch("SELECT status, count(*) AS n FROM sms_campaign_recipients WHERE campaign_id = $1 "
                                "GROUP BY status", campaign_id):
        out["recipients"] += row["n"]
        out["pending" if row["status"] == "new" else row["status"]] += row["n"]
    for row in await conn.fetch("SELECT status, count(*) AS n FROM sms_messages WHERE campaign_id = $1 "
                                "GROUP BY status", campaign_id):
        if row["status"] in ("queued", "submitting"):
            out["sending"] += row["n"]
        elif row["status"] in ("failed", "undelivered", "expired"):
            out["failed"] += row["n"]
        if row["status"] in ("submitted", "delivered", "undelivered", "expired"):
            out["sent"] += row["n"]
        if row["status"] == "delivered":
            out["delivered"] += row["n"]
    return out


_RESULTS = """SELECT r.id, r.phone, r.name, r.body, r.status, r.skip_reason, r.counterparty_id, r.queued_at,
                     m.status AS message_status, m.status_at, m.error
              FROM sms_campaign_recipients r LEFT JOIN sms_messages m ON m.id = r.message_id
              WHERE r.campaign_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3"""


async def results(conn: asyncpg.Connection, campaign_id: int, limit: int, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(_RESULTS.replace("r.id > $2", "true") + " OFFSET $2", campaign_id, offset, limit)


async def result_batches(conn: asyncpg.Connection, campaign_id: int, size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every recipient's result, `size` at a time by key (a 100,000-row report never sits in memory)."""
    last = 0
    while True:
        batch = await conn.fetch(_RESULTS, campaign_id, last, size)
        if not batch:
            return
        last = batch[-1]["id"]
        yield batch
