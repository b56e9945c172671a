"""SQL of the campaign dialer (issue 22): numbers claimed with a lease, their attempts and outcomes,
the counts pacing needs, and the NOTIFY that brings the web's start and pause to the Stasis app.

A number is claimed (pending -> dialing, FOR UPDATE SKIP LOCKED, so two app processes never ring it
twice) only when it is due, inside the campaign's hours in its own time zone and on no do-not-call
list; a claimed number has a lease the dialer renews while its attempt lives, and a number whose
process died is given back when the lease runs out (preview numbers, offered to an agent, are not).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

import asyncpg

from crm.calls.channels import CAMPAIGN_PREFIX
from crm.outbound import model, window

CHANNEL = "pbxcrm_dial_campaigns"
# A claimed number is the dialer's this long after its last renewal.
LEASE_SECONDS = 120
AUTO_MODES = (model.PROGRESSIVE, model.PREDICTIVE)


async def notify_changed(conn: asyncpg.Connection, campaign_id: int) -> None:
    """A campaign was started, paused, resumed, cancelled or given numbers: the dialer looks now."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(campaign_id))


async def running_campaigns(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The running campaigns the dialer places calls for (preview ones the agents dial themselves)."""
    return await conn.fetch(
        "SELECT * FROM dial_campaigns WHERE status = 'running' AND mode = ANY($1::text[]) ORDER BY id",
        list(AUTO_MODES))


async def cancelled_of(conn: asyncpg.Connection, campaign_ids: Iterable[int]) -> list[int]:
    """Which of these campaigns are cancelled."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM dial_campaigns WHERE id = ANY($1::bigint[]) AND status = 'cancelled'", list(campaign_ids))]


async def campaign(conn: asyncpg.Connection, campaign_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM dial_campaigns WHERE id = $1", campaign_id)


async def campaign_agents(conn: asyncpg.Connection, campaign_id: int) -> list[asyncpg.Record]:
    """The campaign's agents that have a phone: its own (dial_campaign_agents), or its queue's members
    when it names a queue; user id, name, extension (rung as click-to-call rings a user)."""
    return await conn.fetch(
        """SELECT u.id AS user_id, u.full_name, u.extension FROM users u
           WHERE u.deleted_at IS NULL AND NOT u.is_blocked AND coalesce(u.extension, '') <> ''
             AND u.id IN (SELECT a.user_id FROM dial_campaign_agents a WHERE a.campaign_id = $1
                          UNION
                          SELECT m.user_id FROM queue_members m JOIN dial_campaigns c ON c.queue_id = m.queue_id
                          WHERE c.id = $1)
           ORDER BY u.id""", campaign_id)


async def skip_unfit(conn: asyncpg.Connection, campaign_id: int) -> int:
    """Pending numbers on a do-not-call list (global or the campaign's) or not a phone number are
    skipped; how many."""
    status = await conn.execute(
        """UPDATE dial_campaign_numbers n
           SET status = 'skipped', lease_until = NULL, updated_at = now(),
               skip_reason = CASE WHEN n.number_normalized IS NULL THEN 'invalid_number' ELSE 'dnc' END
           WHERE n.campaign_id = $1 AND n.status = 'pending'
             AND (n.number_normalized IS NULL OR EXISTS (
                  SELECT 1 FROM dnc_numbers d WHERE d.number = n.number_normalized
                    AND (d.campaign_id IS NULL OR d.campaign_id = n.campaign_id)))""", campaign_id)
    return int(status.split()[-1])


_DUE = """
    SELECT n.id, n.number, n.number_normalized, n.name, n.tz, n.counterparty_id
    FROM dial_campaign_numbers n
    WHERE n.campaign_id = $1 AND n.status = 'pending' AND n.next_at <= $2 AND n.number_normalized IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.number = n.number_normalized
                      AND (d.campaign_id IS NULL OR d.campaign_id = n.campaign_id))
    ORDER BY n.next_at, n.id
    LIMIT $3
    FOR UPDATE OF n SKIP LOCKED
"""


async def claim_numbers(conn: asyncpg.Connection, campaign: asyncpg.Record, limit: int, *, now: dt.datetime,
                        default_tz: str) -> list[asyncpg.Record]:
    """Up to `limit` due numbers claimed for dialling, each with a new attempt (its id, channel id);
    a due number outside its calling hours waits (next_at) for them to open instead."""
    if limit <= 0:
        return []
    claimed: list[asyncpg.Record] = []
    async with conn.transaction():
        # Looked at in batches: numbers out of their hours are moved on, so the next batch sees others.
        for _ in range(5):
            rows = await conn.fetch(_DUE, campaign["id"], now, limit - len(claimed))
            if not rows:
                break
            for row in rows:
                # The campaign's own zone, when it names one, is every number's (migration 0046).
                opens = window.next_opening(now, campaign["timezone"] or row["tz"], default_tz,
                                            campaign["window_from"], campaign["window_to"])
                if opens != now:
                    await conn.execute("UPDATE dial_campaign_numbers SET next_at = $2, updated_at = now() "
                                       "WHERE id = $1", row["id"], opens)
                    continue
                claimed.append(await _claim(conn, campaign["id"], row, now))
            if len(claimed) >= limit:
                break
    return claimed


async def _claim(conn: asyncpg.Connection, campaign_id: int, row: asyncpg.Record, now: dt.datetime) -> asyncpg.Record:
    await conn.execute(
        """UPDATE dial_campaign_numbers SET status = 'dialing', attempts = attempts + 1,
               lease_until = $2::timestamptz + make_interval(secs => $3), updated_at = now() WHERE id = $1""",
        row["id"], now, LEASE_SECONDS)
    attempt_id = await conn.fetchval(
        "INSERT INTO dial_attempts (campaign_id, number_id, started_at) VALUES ($1, $2, $3) RETURNING id",
        campaign_id, row["id"], now)
    return await conn.fetchrow(
        """UPDATE dial_attempts SET channel_id = $2 || id WHERE id = $1
           RETURNING id AS attempt_id, channel_id, number_id, $3::text AS number, $4::text AS number_normalized,
                     $5::text AS name, $6::bigint AS counterparty_id""",
        attempt_id, CAMPAIGN_PREFIX, row["number"], row["number_normalized"], row["name"], row["counterparty_id"])


async def renew_leases(conn: asyncpg.Connection, number_ids: Iterable[int], now: dt.datetime) -> None:
    await conn.execute(
        """UPDATE dial_campaign_numbers SET lease_until = $2::timestamptz + make_interval(secs => $3)
           WHERE id = ANY($1::bigint[]) AND status = 'dialing'""", list(number_ids), now, LEASE_SECONDS)


async def recover_leases(conn: asyncpg.Connection, now: dt.datetime) -> int:
    """Numbers left dialing by a process that died (lease run out) go back to pending, their live
    attempts cancelled; preview numbers (offered to an agent, dialled by click-to-call) are left alone."""
    async with conn.transaction():
        ids = await conn.fetch(
            """SELECT n.id FROM dial_campaign_numbers n JOIN dial_campaigns c ON c.id = n.campaign_id
               WHERE n.status = 'dialing' AND n.lease_until < $1 AND n.offered_to IS NULL
                 AND c.mode = ANY($2::text[])
               FOR UPDATE OF n SKIP LOCKED""", now, list(AUTO_MODES))
        number_ids = [r["id"] for r in ids]
        if not number_ids:
            return 0
        await conn.execute(
            """UPDATE dial_attempts SET outcome = 'cancelled', ended_at = $2
               WHERE number_id = ANY($1::bigint[]) AND outcome = ''""", number_ids, now)
        await conn.execute(
            """UPDATE dial_campaign_numbers SET status = 'pending', lease_until = NULL, next_at = $2,
                   updated_at = now() WHERE id = ANY($1::bigint[])""", number_ids, now)
        return len(number_ids)


async def attempt_answered(conn: asyncpg.Connection, attempt_id: int, at: dt.datetime) -> None:
    await conn.execute("UPDATE dial_attempts SET answered_at = coalesce(answered_at, $2) WHERE id = $1",
                       attempt_id, at)


async def attempt_amd(conn: asyncpg.Connection, attempt_id: int, status: str, cause: str) -> None:
    await conn.execute("UPDATE dial_attempts SET amd_status = $2, amd_cause = $3 WHERE id = $1",
                       attempt_id, status[:40], cause[:200])


async def attempt_bridged(conn: asyncpg.Connection, attempt_id: int, at: dt.datetime, agent_user_id: int) -> None:
    await conn.execute("UPDATE dial_attempts SET bridged_at = $2, agent_user_id = $3 WHERE id = $1",
                       attempt_id, at, agent_user_id)


async def link_call(conn: asyncpg.Connection, attempt_id: int, channel_id: str, order_id: int | None) -> None:
    """The attempt's call row (written by the call log before this), and the campaign's order on it."""
    await conn.execute(
        """WITH c AS (UPDATE calls SET order_id = coalesce($3, order_id) WHERE channel_id = $2 RETURNING id)
           UPDATE dial_attempts SET call_id = (SELECT id FROM c) WHERE id = $1""", attempt_id, channel_id, order_id)


async def attempt_ended(conn: asyncpg.Connection, attempt_id: int, outcome: str, *, cause: int | None,
                        ended_at: dt.datetime, rules: Mapping[str, model.RetryRule]) -> model.NextStep | None:
    """The attempt's outcome, and its number's next step by the campaign's retry rules (None: the
    attempt had already ended)."""
    async with conn.transaction():
        number_id = await conn.fetchval(
            """UPDATE dial_attempts SET outcome = $2, hangup_cause = $3, ended_at = $4
               WHERE id = $1 AND outcome = '' RETURNING number_id""", attempt_id, outcome, cause, ended_at)
        if number_id is None:
            return None
        number = await conn.fetchrow("SELECT status, outcome_counts FROM dial_campaign_numbers WHERE id = $1 "
                                     "FOR UPDATE", number_id)
        counts = dict(json.loads(number["outcome_counts"]) if isinstance(number["outcome_counts"], str)
                      else number["outcome_counts"] or {})
        if outcome != model.CANCELLED_ATTEMPT:
            counts[outcome] = int(counts.get(outcome, 0)) + 1
        step = model.after_attempt(outcome, counts, rules, ended_at)
        if number["status"] != "dialing":
            return step  # cancelled or skipped meanwhile: left as it is
        await conn.execute(
            """UPDATE dial_campaign_numbers SET status = $2, next_at = coalesce($3, next_at), last_outcome = $4,
                   outcome_counts = $5::jsonb, lease_until = NULL, updated_at = now() WHERE id = $1""",
            number_id, step.status, step.next_at, outcome, json.dumps(counts))
        return step


async def pacing_counts(conn: asyncpg.Connection, campaign_id: int) -> asyncpg.Record:
    """Ended attempts, of them answered by a person (bridged or dropped), of those dropped."""
    return await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE outcome NOT IN ('', 'cancelled')) AS ended,
                  count(*) FILTER (WHERE outcome IN ('answered', 'dropped')) AS answered,
                  count(*) FILTER (WHERE outcome = 'dropped') AS dropped
           FROM dial_attempts WHERE campaign_id = $1""", campaign_id)


async def finish_if_done(conn: asyncpg.Connection, campaign_id: int) -> bool:
    """A running campaign with no number left to dial (none pending or dialing) is done."""
    status = await conn.execute(
        """UPDATE dial_campaigns SET status = 'done', finished_at = now(), updated_at = now()
           WHERE id = $1 AND status = 'running'
             AND NOT EXISTS (SELECT 1 FROM dial_campaign_numbers
                             WHERE campaign_id = $1 AND status IN ('pending', 'dialing'))""", campaign_id)
    done = status.endswith(" 1")
    if done:
        await notify_changed(conn, campaign_id)
    return done
