"""A dial campaign's dashboard (issue 22): its progress (numbers pending, dialling, done, skipped and
why), the attempts' outcomes, the drop rate so far against the campaign's limit, and the pacing now
(calls ringing, the agents free, busy or away, and how many calls the pacing would place).
`figures` reads them; `summarise` is the pure part the page and the API both show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm.outbound import model, pacing

NUMBER_STATUSES = ("pending", "dialing", "done", "skipped")


@dataclass(frozen=True)
class AgentCounts:
    free: int = 0  # logged in, not paused, out of wrap-up, on no call
    busy: int = 0  # on a call (a campaign's or any other)
    away: int = 0  # logged out or paused


def summarise(campaign: Mapping, numbers: Mapping[str, int], skips: Mapping[str, int],
              outcomes: Mapping[str, int], ringing: int, agents: AgentCounts) -> dict:
    """The dashboard's figures as plain data (the JSON the page polls). Pure."""
    progress = {s: int(numbers.get(s, 0)) for s in NUMBER_STATUSES}
    total = sum(progress.values())
    counted = {o: int(outcomes.get(o, 0)) for o in model.OUTCOMES}
    ended = sum(counted.values())
    live = int(outcomes.get("", 0))  # placed, not ended yet (ringing, or answered and being bridged)
    answered = counted[model.ANSWERED] + counted[model.DROPPED]  # a person answered: bridged or dropped
    state = pacing.PacingState(free_agents=agents.free, ringing=ringing, ended=ended, answered=answered,
                               dropped=counted[model.DROPPED])
    policy = pacing.PacingPolicy(drop_limit=float(campaign["drop_limit"]), max_ratio=float(campaign["max_ratio"]))
    rate = pacing.drop_rate(state)
    placing = (pacing.calls_to_place(campaign["mode"], state, policy)
               if campaign["status"] == model.RUNNING else 0)
    return {
        "id": campaign["id"], "status": campaign["status"], "mode": campaign["mode"],
        "progress": {**progress, "total": total, "finished": progress["done"] + progress["skipped"],
                     "percent": round(100.0 * (progress["done"] + progress["skipped"]) / total, 1) if total else 0.0},
        "skipped": {reason: int(skips.get(reason, 0)) for reason in model.SKIP_REASONS},
        "outcomes": counted,
        "attempts": {"total": ended + live, "ended": ended, "live": live},
        "drop": {"dropped": counted[model.DROPPED], "answered": answered, "rate": round(rate, 2),
                 "limit": float(campaign["drop_limit"]), "over": rate > float(campaign["drop_limit"])},
        "pacing": {"ringing": ringing, "agents_free": agents.free, "agents_busy": agents.busy,
                   "agents_away": agents.away, "to_place": placing,
                   # calls out (ringing, and about to be placed) per free agent: above 1 only predictive
                   "ratio": round((ringing + placing) / agents.free, 2) if agents.free else 0.0},
    }


async def _agents(conn: asyncpg.Connection, user_ids: list[int]) -> AgentCounts:
    if not user_ids:
        return AgentCounts()
    row = await conn.fetchrow(
        """WITH a AS (
               SELECT u.id,
                      coalesce(s.logged_in, true) AND NOT coalesce(s.paused, false) AS present,
                      coalesce(s.wrapup_until > now(), false) AS wrapup,
                      EXISTS (SELECT 1 FROM dial_attempts t WHERE t.agent_user_id = u.id AND t.outcome = ''
                                AND t.started_at > now() - interval '1 day')
                      OR EXISTS (SELECT 1 FROM call_legs l JOIN calls c ON c.id = l.call_id
                                 WHERE l.user_id = u.id AND l.ended_at IS NULL AND c.ended_at IS NULL
                                   AND c.started_at > now() - interval '1 day')
                      OR EXISTS (SELECT 1 FROM calls c WHERE c.caller_user_id = u.id AND c.ended_at IS NULL
                                   AND c.started_at > now() - interval '1 day') AS on_call
               FROM users u LEFT JOIN agent_states s ON s.user_id = u.id
               WHERE u.id = ANY($1::bigint[]) AND u.deleted_at IS NULL)
           SELECT count(*) FILTER (WHERE on_call) AS busy,
                  count(*) FILTER (WHERE NOT on_call AND present AND NOT wrapup) AS free,
                  count(*) FILTER (WHERE NOT on_call AND (NOT present OR wrapup)) AS away
           FROM a""", user_ids)
    return AgentCounts(free=row["free"], busy=row["busy"], away=row["away"])


async def figures(conn: asyncpg.Connection, campaign: Mapping, agent_ids: list[int]) -> dict:
    """The dashboard of one campaign (the caller has checked the user may see it)."""
    campaign_id = campaign["id"]
    numbers = {r["status"]: r["n"] for r in await conn.fetch(
        "SELECT status, count(*) AS n FROM dial_campaign_numbers WHERE campaign_id = $1 GROUP BY status",
        campaign_id)}
    skips = {r["skip_reason"]: r["n"] for r in await conn.fetch(
        "SELECT skip_reason, count(*) AS n FROM dial_campaign_numbers WHERE campaign_id = $1 AND status = 'skipped' "
        "GROUP BY skip_reason", campaign_id)}
    outcomes = {r["outcome"]: r["n"] for r in await conn.fetch(
        "SELECT outcome, count(*) AS n FROM dial_attempts WHERE campaign_id = $1 GROUP BY outcome", campaign_id)}
    ringing = await conn.fetchval(
        "SELECT count(*) FROM dial_attempts WHERE campaign_id = $1 AND outcome = '' AND answered_at IS NULL",
        campaign_id)
    return summarise(campaign, numbers, skips, outcomes, ringing, await _agents(conn, agent_ids))
