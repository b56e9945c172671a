"""Preview dialling (issue 22): an agent of a running preview campaign takes the next due number (in
its window, in the called person's time zone) with its card; it is theirs alone under a long lease (an
attempt row is made at once), then they call it through click-to-call or skip it, and record how the
call went. The outcome applies the campaign's retry rules to the number (crm/outbound/model.py). The
Stasis app records the outcome itself when the call ends (ended_by_call); the agent may then amend it
while no later attempt of the number exists."""

from __future__ import annotations

import datetime as dt
import json
import logging

import asyncpg

from crm import audit
from crm.clicktocall.queries import request_call
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import gettext as _
from crm.notes import add_note
from crm.outbound import model
from crm.outbound import queries as outbound_q
from crm.scheduled_calls import queries as scheduled_q

log = logging.getLogger(__name__)

LEASE_MINUTES = 30  # an offered number waits this long for its agent before others may take it
SKIP_MINUTES = 30  # a skipped number is offered again after this
AGENT_OUTCOMES = (model.ANSWERED, model.BUSY, model.NO_ANSWER, model.MACHINE, model.FAILED)


async def my_campaigns(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """The running preview campaigns the user is an agent of: named on it, or in its queue when it has one
    (crm/outbound/campaigns.agent_ids)."""
    return await conn.fetch(
        """SELECT c.id, c.name FROM dial_campaigns c
           WHERE c.status = 'running' AND c.mode = 'preview'
             AND CASE WHEN c.queue_id IS NULL
                      THEN EXISTS (SELECT 1 FROM dial_campaign_agents a WHERE a.campaign_id = c.id AND a.user_id = $1)
                      ELSE EXISTS (SELECT 1 FROM queue_members m WHERE m.queue_id = c.queue_id AND m.user_id = $1)
                 END
           ORDER BY c.id""", user_id)


_ATTEMPT = """SELECT a.id, a.campaign_id, a.number_id, a.agent_user_id, a.outcome, a.started_at, a.ended_at,
                     n.number, n.number_normalized, n.name, n.tz, n.attempts, n.last_outcome, n.status AS number_status,
                     n.counterparty_id, n.order_row_id, cp.display_name AS card_name, cp.comment AS card_comment,
                     r.data AS row_data, o.script, c.name AS campaign_name, c.order_id,
                     EXISTS (SELECT 1 FROM call_requests q WHERE q.dial_attempt_id = a.id AND q.status <> 'failed')
                         AS called,
                     NOT EXISTS (SELECT 1 FROM dial_attempts l WHERE l.number_id = a.number_id AND l.id > a.id)
                         AS latest
              FROM dial_attempts a JOIN dial_campaign_numbers n ON n.id = a.number_id
              JOIN dial_campaigns c ON c.id = a.campaign_id
              LEFT JOIN counterparties cp ON cp.id = n.counterparty_id
              LEFT JOIN order_rows r ON r.id = n.order_row_id LEFT JOIN orders o ON o.id = c.order_id"""


async def attempt(conn: asyncpg.Connection, attempt_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_ATTEMPT} WHERE a.id = $1", attempt_id)


async def current(conn: asyncpg.Connection, user_id: int, campaign_id: int) -> asyncpg.Record | None:
    """The user's latest attempt in the campaign: live (outcome ''), or ended (its outcome may be amended)."""
    return await conn.fetchrow(f"{_ATTEMPT} WHERE a.campaign_id = $1 AND a.agent_user_id = $2 "
                               "ORDER BY a.id DESC LIMIT 1", campaign_id, user_id)


async def _release_expired(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Offers whose lease ran out go back to pending (their attempts cancelled)."""
    await conn.execute(
        """WITH gone AS (UPDATE dial_campaign_numbers SET status = 'pending', offered_to = NULL, lease_until = NULL,
                                updated_at = now()
                         WHERE campaign_id = $1 AND status = 'dialing' AND offered_to IS NOT NULL
                         AND lease_until < now() RETURNING id)
           UPDATE dial_attempts SET outcome = 'cancelled', ended_at = now()
           WHERE number_id IN (SELECT id FROM gone) AND outcome = ''""", campaign_id)


async def claim(conn: asyncpg.Connection, user_id: int, campaign_id: int, fallback_zone: str) -> int | None:
    """The attempt of the number offered to the user: the live one they have, else the next due number's
    (None: nothing is due now). Two agents never get one number: the row is locked and skipped by others."""
    async with conn.transaction():
        live = await conn.fetchval("SELECT id FROM dial_attempts WHERE campaign_id = $1 AND agent_user_id = $2 "
                                   "AND outcome = '' ORDER BY id DESC LIMIT 1", campaign_id, user_id)
        if live is not None:
            return live
        await _release_expired(conn, campaign_id)
        number = await conn.fetchrow(
            """WITH next AS (
                   SELECT n.id FROM dial_campaign_numbers n JOIN dial_campaigns c ON c.id = n.campaign_id
                   WHERE n.campaign_id = $1 AND c.status = 'running' AND c.mode = 'preview'
                   AND n.status = 'pending' AND n.next_at <= now()
                   -- calling hours [from, to) in the campaign's zone, else the number's, else the centre's
                   AND extract(hour FROM now() AT TIME ZONE coalesce(nullif(c.timezone, ''), nullif(n.tz, ''), $3))
                       BETWEEN c.window_from AND c.window_to - 1
                   ORDER BY n.next_at, n.id LIMIT 1 FOR UPDATE OF n SKIP LOCKED)
               UPDATE dial_campaign_numbers n SET status = 'dialing', offered_to = $2,
                      lease_until = now() + make_interval(mins => $4), updated_at = now()
               FROM next WHERE n.id = next.id RETURNING n.id, n.number_normalized""",
            campaign_id, user_id, fallback_zone, LEASE_MINUTES)
        if number is None:
            return None
        attempt_id = await conn.fetchval(
            "INSERT INTO dial_attempts (campaign_id, number_id, agent_user_id) VALUES ($1, $2, $3) RETURNING id",
            campaign_id, number["id"], user_id)
    log.info("preview campaign %d: number %s (%d) offered to user %d, attempt %d", campaign_id,
             number["number_normalized"], number["id"], user_id, attempt_id)
    return attempt_id


async def _mine(conn: asyncpg.Connection, user_id: int, attempt_id: int) -> asyncpg.Record:
    row = await attempt(conn, attempt_id)
    if row is None or row["agent_user_id"] != user_id:
        raise NotFound(_("no such call"))
    return row


async def call(conn: asyncpg.Connection, user, attempt_id: int, region: str) -> int:
    """Ring the agent's phone, then the offered number (click-to-call, linked to the attempt)."""
    row = await _mine(conn, user["id"], attempt_id)
    if row["outcome"]:
        raise Conflict(_("this call has already ended"))
    await conn.execute("UPDATE dial_campaign_numbers SET lease_until = now() + make_interval(mins => $2) "
                       "WHERE id = $1 AND status = 'dialing'", row["number_id"], LEASE_MINUTES)
    return await request_call(conn, user=user, number=row["number_normalized"], requested_by=user["id"],
                              region=region, order_id=row["order_id"], dial_attempt_id=attempt_id)


async def skip(conn: asyncpg.Connection, user, attempt_id: int) -> None:
    """Not now: the number goes back to pending, offered again later (the attempt is not counted)."""
    row = await _mine(conn, user["id"], attempt_id)
    if row["outcome"] or row["called"]:
        raise Conflict(_("a number already called cannot be skipped: record how the call went"))
    async with conn.transaction():
        ended = await conn.fetchval("UPDATE dial_attempts SET outcome = 'cancelled', ended_at = now() "
                                    "WHERE id = $1 AND outcome = '' RETURNING number_id", attempt_id)
        if ended is None:
            raise Conflict(_("this call has already ended"))
        await conn.execute(
            """UPDATE dial_campaign_numbers SET status = 'pending', offered_to = NULL, lease_until = NULL,
                      next_at = now() + make_interval(mins => $2), updated_at = now()
               WHERE id = $1 AND status = 'dialing'""", ended, SKIP_MINUTES)
    log.info("preview campaign %d: number %s skipped by user %d", row["campaign_id"], row["number_normalized"],
             user["id"])


async def record_outcome(conn: asyncpg.Connection, attempt_id: int, outcome: str, *, amend: bool = False,
                         call_id: int | None = None, now: dt.datetime | None = None,
                         finish: bool = True) -> model.NextStep | None:
    """End the attempt with `outcome` and move its number by the retry rules (None: it had ended, and is
    not amended). `amend`: an ended attempt that is its number's latest takes the new outcome instead."""
    if outcome not in model.OUTCOMES:
        raise ValidationError({"outcome": _("choose how the call went")})
    async with conn.transaction():
        row = await conn.fetchrow(
            """SELECT a.outcome, a.number_id, a.campaign_id, c.mode, n.outcome_counts, n.attempts, n.status,
                      c.retry_rules,
                      NOT EXISTS (SELECT 1 FROM dial_attempts l WHERE l.number_id = a.number_id AND l.id > a.id)
                          AS latest
               FROM dial_attempts a JOIN dial_campaign_numbers n ON n.id = a.number_id
               JOIN dial_campaigns c ON c.id = a.campaign_id WHERE a.id = $1 FOR UPDATE OF a, n""", attempt_id)
        if row is None:
            raise NotFound(_("no such call"))
        old = row["outcome"]
        if old and not (amend and row["latest"] and row["status"] != "dialing") or old == outcome:
            return None
        counts = json.loads(row["outcome_counts"]) if isinstance(row["outcome_counts"], str) else \
            dict(row["outcome_counts"] or {})
        attempts = row["attempts"]
        if old and old != model.CANCELLED_ATTEMPT:
            counts[old] = max(counts.get(old, 0) - 1, 0)
            attempts -= 1
        if outcome != model.CANCELLED_ATTEMPT:
            counts[outcome] = counts.get(outcome, 0) + 1
            attempts += 1
        at = now or dt.datetime.now(dt.UTC)
        step = model.after_attempt(outcome, counts, model.retry_rules(json.loads(row["retry_rules"])
                                                                      if isinstance(row["retry_rules"], str)
                                                                      else row["retry_rules"]), at)
        await conn.execute("UPDATE dial_attempts SET outcome = $2, ended_at = coalesce(ended_at, $3), "
                           "call_id = coalesce($4, call_id) WHERE id = $1", attempt_id, outcome, at, call_id)
        await conn.execute(
            """UPDATE dial_campaign_numbers SET status = $2, next_at = coalesce($3, next_at), attempts = $4,
                      outcome_counts = $5::jsonb, last_outcome = CASE WHEN $6 = 'cancelled' THEN last_outcome
                                                                      ELSE $6 END,
                      offered_to = NULL, lease_until = NULL, updated_at = now()
               WHERE id = $1""", row["number_id"], step.status, step.next_at, attempts, json.dumps(counts), outcome)
        if finish and row["mode"] == model.PREVIEW:  # the automatic modes' dialer finishes its own campaigns
            await outbound_q.finish_if_done(conn, row["campaign_id"])
    log.info("dial attempt %d: %s (was %r); number %d -> %s at %s", attempt_id, outcome, old, row["number_id"],
             step.status, step.next_at)
    return step


async def agent_outcome(conn: asyncpg.Connection, user, attempt_id: int, outcome: str, note: str, *,
                        callback_at: dt.datetime | None = None) -> None:
    """The agent's word on the call (it amends what the PBX recorded); a note goes on the client's card.
    `callback_at`: the client asked to be called back then: the campaign dials the number again at that
    time (a scheduled call of the campaign, crm/scheduled_calls/), whatever the retry rules said."""
    if outcome not in AGENT_OUTCOMES:
        raise ValidationError({"outcome": _("choose how the call went")})
    row = await _mine(conn, user["id"], attempt_id)
    async with conn.transaction():
        step = await record_outcome(conn, attempt_id, outcome, amend=True, finish=callback_at is None)
        if step is None and row["outcome"] != outcome:
            raise Conflict(_("the number has been tried again since: this call's outcome can no longer change"))
        if callback_at is not None:
            await scheduled_q.create_campaign_callback(conn, user, campaign_id=row["campaign_id"],
                                                       number_id=row["number_id"], due_at=callback_at, note=note)
        await audit.record(conn, user["id"], "dial_attempt", attempt_id, "outcome",
                           {"outcome": [row["outcome"] or None, outcome]})
        if note.strip() and row["counterparty_id"]:
            body = _("Campaign call (%(outcome)s): %(note)s") % {"outcome": _(model.OUTCOME_NAMES[outcome]),
                                                                  "note": note.strip()}
            await add_note(conn, user, body=body, counterparty_id=row["counterparty_id"])


async def ended_by_call(conn: asyncpg.Connection, attempt_id: int, channel_id: str | None) -> None:
    """The Stasis app: the click-to-call of a preview attempt ended. Unless the agent has said how it
    went, its outcome is the call's: answered when the number answered, else no answer."""
    call = await conn.fetchrow("SELECT id, answered_at FROM calls WHERE channel_id = $1", channel_id) \
        if channel_id else None
    outcome = model.ANSWERED if call is not None and call["answered_at"] is not None else model.NO_ANSWER
    await record_outcome(conn, attempt_id, outcome, call_id=call["id"] if call else None)
