"""Dial campaigns' settings and moves (issue 22): create and change one (its mode, who takes its calls,
calling hours and whose clock they follow, retry rules, drop limit, AMD, its order), read the ones a
user may see, and start, pause, resume or cancel it. Every change is audited and NOTIFYed on CHANNEL
with the campaign's id: the dialer in the Stasis app listens and reads the campaign again.
Rights: crm/outbound/permissions.py; statuses and rules: crm/outbound/model.py."""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from crm import audit
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import N_
from crm.i18n import gettext as _
from crm.outbound import model, permissions
from crm.roles import ROLES

log = logging.getLogger(__name__)
CHANNEL = "pbxcrm_dial_campaigns"  # NOTIFY payload: the id of a campaign whose settings or status changed
AGENTS, QUEUE = "agents", "queue"  # who takes the answered calls
MACHINE_ACTIONS = ("hangup", "agent")
RETRY_ATTEMPTS = (1, 20)
RETRY_MINUTES = (1, 10080)
EDITABLE = (model.DRAFT, model.RUNNING, model.PAUSED)


@dataclass(frozen=True)
class CampaignInput:
    name: str
    mode: str = model.PROGRESSIVE
    takers: str = AGENTS
    agent_ids: tuple[int, ...] = ()
    queue_id: int | None = None
    window_from: int = 9
    window_to: int = 21
    timezone: str = ""  # '': each called person's own
    retry: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(model.DEFAULT_RETRY))
    drop_limit: Decimal = Decimal(3)
    max_ratio: Decimal = Decimal(3)
    ring_seconds: int = 25
    amd: bool = False
    amd_settings: Mapping[str, int] = field(default_factory=lambda: dict(model.AMD_DEFAULTS))
    machine_action: str = "hangup"
    caller_id: str = ""
    order_id: int | None = None


def _between(value: float | Decimal, low: float, high: float) -> bool:
    return low <= value <= high


def problems(data: CampaignInput) -> dict[str, str]:
    """What is wrong with the settings, by form field (empty: nothing). Pure."""
    errors: dict[str, str] = {}
    if not 0 < len(data.name.strip()) <= 200:
        errors["name"] = _("a campaign name is 1 to %(num)d characters") % {"num": 200}
    if data.mode not in model.MODES:
        errors["mode"] = _("choose a dial mode")
    if data.takers not in (AGENTS, QUEUE):
        errors["takers"] = _("choose who takes the calls")
    elif data.takers == QUEUE and data.queue_id is None:
        errors["queue_id"] = _("choose a queue")
    if not (0 <= data.window_from < data.window_to <= 24):
        errors["window_from"] = _("calling hours run from 0 to 24, the start before the end")
    if data.timezone and data.timezone not in zoneinfo.available_timezones():
        errors["timezone"] = _("no such time zone")
    for outcome in model.RETRIED:
        attempts, after = data.retry.get(outcome, model.DEFAULT_RETRY[outcome])
        if not _between(attempts, *RETRY_ATTEMPTS):
            errors[f"retry_{outcome}_attempts"] = _("from %(low)d to %(high)d attempts") % {
                "low": RETRY_ATTEMPTS[0], "high": RETRY_ATTEMPTS[1]}
        if not _between(after, *RETRY_MINUTES):
            errors[f"retry_{outcome}_after"] = _("from %(low)d to %(high)d minutes") % {
                "low": RETRY_MINUTES[0], "high": RETRY_MINUTES[1]}
    if not (0 < data.drop_limit <= 50):
        errors["drop_limit"] = _("a drop limit is a percentage above 0 and at most 50")
    if not _between(data.max_ratio, 1, 10):
        errors["max_ratio"] = _("from 1 to 10 calls per free agent")
    if not _between(data.ring_seconds, 5, 120):
        errors["ring_seconds"] = _("from 5 to 120 seconds")
    if data.machine_action not in MACHINE_ACTIONS:
        errors["machine_action"] = _("choose what an answering machine gets")
    for name in model.AMD_PARAMETERS:
        low, high = model.amd_limits(name)
        if not _between(data.amd_settings.get(name, model.AMD_DEFAULTS[name]), low, high):
            errors[f"amd_{name}"] = _("from %(low)d to %(high)d") % {"low": low, "high": high}
    if len(data.caller_id) > 40 or any(c not in "+0123456789" for c in data.caller_id):
        errors["caller_id"] = _("digits and a leading +, at most 40")
    return errors


async def _check_references(conn: asyncpg.Connection, data: CampaignInput) -> None:
    errors = {}
    if data.takers == AGENTS and data.agent_ids:
        found = await conn.fetchval(
            "SELECT count(*) FROM users WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL AND role = ANY($2)",
            list(set(data.agent_ids)), list(ROLES))
        if found != len(set(data.agent_ids)):
            errors["agent_ids"] = _("choose agents from the list")
    if data.takers == QUEUE and data.queue_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM queues WHERE id = $1 AND deleted_at IS NULL)", data.queue_id):
        errors["queue_id"] = _("no such queue")
    if data.order_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)", data.order_id):
        errors["order_id"] = _("no such order")
    if errors:
        raise ValidationError(errors)


def _checked(data: CampaignInput) -> None:
    errors = problems(data)
    if errors:
        raise ValidationError(errors)


def _retry_json(data: CampaignInput) -> dict:
    return {o: {"attempts": data.retry[o][0], "after_minutes": data.retry[o][1]} for o in model.RETRIED}


def _columns(data: CampaignInput, *, as_json: bool = True) -> tuple:
    amd = {n: data.amd_settings.get(n, model.AMD_DEFAULTS[n]) for n in model.AMD_PARAMETERS}
    retry = _retry_json(data)
    return (data.name.strip(), data.order_id, data.mode, data.queue_id if data.takers == QUEUE else None,
            data.window_from, data.window_to, data.timezone, json.dumps(retry) if as_json else retry, data.amd,
            json.dumps(amd) if as_json else amd, data.machine_action, data.drop_limit, data.max_ratio,
            data.ring_seconds, data.caller_id)


def stored_json(value: object) -> dict:
    """A jsonb column as asyncpg hands it over (text), or a mapping already."""
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value) if isinstance(value, Mapping) else {}


async def _set_agents(conn: asyncpg.Connection, campaign_id: int, data: CampaignInput) -> None:
    await conn.execute("DELETE FROM dial_campaign_agents WHERE campaign_id = $1", campaign_id)
    if data.takers == AGENTS and data.agent_ids:
        await conn.execute("INSERT INTO dial_campaign_agents (campaign_id, user_id) "
                           "SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING", campaign_id,
                           sorted(set(data.agent_ids)))


async def _notify(conn: asyncpg.Connection, campaign_id: int) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(campaign_id))


def audited(campaign: Mapping, agent_ids: list[int]) -> dict:
    """A campaign's settings as the audit log keeps them (stored row or what was saved)."""
    return {"name": campaign["name"], "dial_mode": campaign["mode"], "agents": sorted(agent_ids),
            "queue_id": campaign["queue_id"], "window_from": campaign["window_from"],
            "window_to": campaign["window_to"], "timezone": campaign["timezone"],
            "retry_rules": {o: [r.attempts, r.after_minutes]
                            for o, r in model.retry_rules(stored_json(campaign["retry_rules"])).items()},
            "drop_limit": str(Decimal(campaign["drop_limit"]).normalize()),
            "max_ratio": str(Decimal(campaign["max_ratio"]).normalize()), "ring_seconds": campaign["ring_seconds"],
            "amd": campaign["amd"], "amd_settings": stored_json(campaign["amd_settings"]),
            "machine_action": campaign["machine_action"], "caller_id": campaign["caller_id"],
            "order_id": campaign["order_id"]}


def _stored(data: CampaignInput) -> dict:
    names = ("name", "order_id", "mode", "queue_id", "window_from", "window_to", "timezone", "retry_rules", "amd",
             "amd_settings", "machine_action", "drop_limit", "max_ratio", "ring_seconds", "caller_id")
    return dict(zip(names, _columns(data, as_json=False), strict=True))


async def create(conn: asyncpg.Connection, user: Mapping, data: CampaignInput) -> int:
    if not permissions.manages_campaigns(user):
        raise Forbidden(_("only a supervisor or an admin runs dial campaigns"))
    _checked(data)
    async with conn.transaction():
        await _check_references(conn, data)
        campaign_id = await conn.fetchval(
            """INSERT INTO dial_campaigns (name, order_id, mode, queue_id, window_from, window_to, timezone,
                   retry_rules, amd, amd_settings, machine_action, drop_limit, max_ratio, ring_seconds, caller_id,
                   author_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, $11, $12, $13, $14, $15, $16)
               RETURNING id""",
            *_columns(data), user["id"])
        await _set_agents(conn, campaign_id, data)
        after = audited(_stored(data), list(data.agent_ids) if data.takers == AGENTS else [])
        await audit.record(conn, user["id"], "dial_campaign", campaign_id, "create", audit.created(after))
        await _notify(conn, campaign_id)
    log.info("dial campaign %d created by user %d", campaign_id, user["id"])
    return campaign_id


async def update(conn: asyncpg.Connection, user: Mapping, campaign_id: int, data: CampaignInput) -> None:
    """Change a campaign not finished yet (a running one takes the new settings at once)."""
    _checked(data)
    async with conn.transaction():
        before = await _managed(conn, user, campaign_id, lock=True)
        if before["status"] not in EDITABLE:
            raise Conflict(_("a finished campaign cannot be changed"))
        await _check_references(conn, data)
        old_agents = await _own_agents(conn, campaign_id)
        await conn.execute(
            """UPDATE dial_campaigns SET name = $2, order_id = $3, mode = $4, queue_id = $5, window_from = $6,
                      window_to = $7, timezone = $8, retry_rules = $9::jsonb, amd = $10, amd_settings = $11::jsonb,
                      machine_action = $12, drop_limit = $13, max_ratio = $14, ring_seconds = $15, caller_id = $16,
                      updated_at = now()
               WHERE id = $1""", campaign_id, *_columns(data))
        await _set_agents(conn, campaign_id, data)
        after = audited(_stored(data), list(data.agent_ids) if data.takers == AGENTS else [])
        await audit.record(conn, user["id"], "dial_campaign", campaign_id, "update",
                           audit.diff(audited(before, old_agents), after))
        await _notify(conn, campaign_id)
    log.info("dial campaign %d changed by user %d", campaign_id, user["id"])


async def _own_agents(conn: asyncpg.Connection, campaign_id: int) -> list[int]:
    return [r["user_id"] for r in await conn.fetch(
        "SELECT user_id FROM dial_campaign_agents WHERE campaign_id = $1 ORDER BY user_id", campaign_id)]


async def agent_ids(conn: asyncpg.Connection, campaign: Mapping) -> list[int]:
    """Who takes the campaign's calls: its own agents, or its queue's members."""
    if campaign["queue_id"] is not None:
        return [r["user_id"] for r in await conn.fetch(
            "SELECT user_id FROM queue_members WHERE queue_id = $1 ORDER BY user_id", campaign["queue_id"])]
    return await _own_agents(conn, campaign["id"])


_GET = """SELECT c.*, a.full_name AS author_name, q.name AS queue_name, o.name AS order_name
          FROM dial_campaigns c JOIN users a ON a.id = c.author_id LEFT JOIN queues q ON q.id = c.queue_id
          LEFT JOIN orders o ON o.id = c.order_id WHERE c.id = $1"""


async def campaign_for(conn: asyncpg.Connection, user: Mapping, campaign_id: int, *,
                       lock: bool = False) -> asyncpg.Record | None:
    """The campaign, or None when there is none or the user may not see it."""
    row = await conn.fetchrow(_GET + (" FOR UPDATE OF c" if lock else ""), campaign_id)
    if row is None or not permissions.sees_campaign(user, await agent_ids(conn, row)):
        return None
    return row


async def get(conn: asyncpg.Connection, user: Mapping, campaign_id: int, *, lock: bool = False) -> asyncpg.Record:
    """The campaign the user sees (NotFound otherwise, as if it did not exist)."""
    row = await campaign_for(conn, user, campaign_id, lock=lock)
    if row is None:
        raise NotFound(_("no such campaign"))
    return row


async def _managed(conn: asyncpg.Connection, user: Mapping, campaign_id: int, *, lock: bool) -> asyncpg.Record:
    row = await get(conn, user, campaign_id, lock=lock)
    if not permissions.manages_campaigns(user):
        raise Forbidden(_("only a supervisor or an admin runs dial campaigns"))
    return row


_VISIBLE = """(($1 AND NOT $2) OR EXISTS (SELECT 1 FROM dial_campaign_agents g
                                     WHERE g.campaign_id = c.id AND g.user_id = $3 AND c.queue_id IS NULL AND NOT $2)
              OR EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_id = c.queue_id AND m.user_id = $3 AND NOT $2))"""


def _seen_by(user: Mapping) -> tuple[bool, bool, int]:
    return permissions.manages_campaigns(user), not permissions.sees_campaign_list(user), user["id"]


async def count_visible(conn: asyncpg.Connection, user: Mapping) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM dial_campaigns c WHERE {_VISIBLE}", *_seen_by(user))


async def visible(conn: asyncpg.Connection, user: Mapping, limit: int, offset: int) -> list[asyncpg.Record]:
    """The campaigns the user sees, newest first, with their numbers' counts."""
    return await conn.fetch(
        f"""SELECT c.id, c.name, c.mode, c.status, c.created_at, c.started_at, a.full_name AS author_name,
                   o.name AS order_name,
                   (SELECT count(*) FROM dial_campaign_numbers n WHERE n.campaign_id = c.id) AS numbers,
                   (SELECT count(*) FROM dial_campaign_numbers n
                    WHERE n.campaign_id = c.id AND n.status IN ('done', 'skipped')) AS finished
            FROM dial_campaigns c JOIN users a ON a.id = c.author_id LEFT JOIN orders o ON o.id = c.order_id
            WHERE {_VISIBLE} ORDER BY c.id DESC LIMIT $4 OFFSET $5""", *_seen_by(user), limit, offset)


async def act(conn: asyncpg.Connection, user: Mapping, campaign_id: int, action: str) -> str:
    """A manager's move (start, pause, resume, cancel): the new status, audited and NOTIFYed."""
    if action not in model.ACTIONS:
        raise NotFound(_("no such action"))
    async with conn.transaction():
        campaign = await _managed(conn, user, campaign_id, lock=True)
        try:
            status = model.next_status(action, campaign["status"])
        except model.CampaignError:
            raise Conflict(_("a campaign that is %(status)s cannot be %(done)s") % {
                "status": _(model.STATUS_NAMES[campaign["status"]]), "done": _(_DONE[action])}) from None
        if action == model.START and not await agent_ids(conn, campaign):
            raise Conflict(_("the campaign has no agents: choose some, or a queue with members"))
        await conn.execute(
            """UPDATE dial_campaigns SET status = $2, updated_at = now(),
                      started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                      finished_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE finished_at END
               WHERE id = $1""", campaign_id, status)
        if status == model.CANCELLED:
            await conn.execute("UPDATE dial_campaign_numbers SET status = 'skipped', skip_reason = 'cancelled', "
                               "updated_at = now() WHERE campaign_id = $1 AND status = 'pending'", campaign_id)
        await audit.record(conn, user["id"], "dial_campaign", campaign_id, action,
                           {"status": [campaign["status"], status]})
        await _notify(conn, campaign_id)
    log.info("dial campaign %d %s by user %d: %s -> %s", campaign_id, action, user["id"], campaign["status"], status)
    return status


_DONE = {model.START: N_("started"), model.PAUSE: N_("paused"), model.RESUME: N_("resumed"),
         model.CANCEL: N_("cancelled")}


async def choices(conn: asyncpg.Connection) -> dict:
    """What the form offers: the staff who may take calls, the queues, the orders."""
    return {
        "users": await conn.fetch("SELECT id, full_name, role FROM users WHERE deleted_at IS NULL AND NOT is_blocked "
                                  "AND role = ANY($1) ORDER BY full_name, id", list(ROLES)),
        "queues": await conn.fetch("SELECT id, name FROM queues WHERE deleted_at IS NULL ORDER BY name, id"),
        "orders": await conn.fetch("SELECT o.id, o.name, c.name AS customer_name FROM orders o "
                                   "JOIN customers c ON c.id = o.customer_id WHERE o.status = 'open' "
                                   "ORDER BY o.id DESC LIMIT 500"),
    }
