"""The campaign dialer (issue 22): places the calls of running progressive and predictive campaigns.

Each tick (a NOTIFY on crm/outbound/queries.CHANNEL from the web's start or pause, a phone freed, an
attempt ended, or every TICK_SECONDS as a safety net) it looks at every running campaign: its agents
that are available and whose phones are free, how many calls pacing (crm/outbound/pacing.py) says to
place, and claims that many due numbers (inside their calling hours, on no do-not-call list) and rings
them through the trunk as outbound click-to-call would. What happens to a call once answered is
ari_app/campaigns/connecting.py's; every attempt is written to dial_attempts, every call to the call log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from functools import partial

import asyncpg

from ari_app.campaigns.attempts import Agent, Attempt, CampaignSettings
from ari_app.campaigns.connecting import Connector
from ari_app.campaigns.states import Connecting, Detecting, Ringing, WrongMove
from ari_app.client import AriError
from ari_app.constants import TECHNOLOGY, campaign_args
from ari_app.deps import SessionDeps
from ari_app.dialing import outside_phone
from ari_app.events import ChannelEntered
from ari_app.phone_states import PhoneStates
from crm import appsettings
from crm.agents.state import AgentState
from crm.db import DATABASE_ERRORS
from crm.dialing.technology import trunk_dial
from crm.listen import listen_forever
from crm.nodes import queries as nodes_q
from crm.outbound import model
from crm.outbound import queries as q
from crm.outbound.pacing import PacingPolicy, PacingState, calls_to_place
from crm.phones import caller_match_key

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
LEASE_EVERY_SECONDS = 30.0
# A call still ringing this long after its ring time is checked for with Asterisk (_forget_lost).
LOST_AFTER_SECONDS = 60.0


class CampaignDialer:
    def __init__(self, deps: SessionDeps, pool: asyncpg.Pool, database_url: str, phone_states: PhoneStates, *,
                 connect_seconds: float = 2.0, agent_ring_seconds: int = 15, tick_seconds: float = TICK_SECONDS,
                 node: str = ""):
        self.d = deps
        self._pool = pool
        self._url = database_url
        self._phones = phone_states
        self._tick_seconds = tick_seconds
        self._node = node  # more than one PBX (issue 26): this app's node, "" for one PBX
        self.attempts: dict[int, Attempt] = {}
        self._agents: dict[int, list[Agent]] = {}  # campaign -> its agents with phones, as last read
        self._queue_of: dict[int, int | None] = {}  # campaign -> the queue whose members take its calls
        self._wake = asyncio.Event()
        self._last_lease = 0.0
        self._tasks: set[asyncio.Task] = set()
        self.connector = Connector(deps, pool, phone_states, self._free_agents, connect_seconds=connect_seconds,
                                   agent_ring_seconds=agent_ring_seconds)

    # ---- the loop ----

    def wake(self, _payload: str = "") -> None:
        self._wake.set()

    async def run(self) -> None:
        """Ticks until cancelled; the web's NOTIFYs wake it early."""
        listener = asyncio.create_task(listen_forever(self._url, q.CHANNEL, self.wake,
                                                      on_connected=self._reconnected), name="campaign changes")
        try:
            while True:
                try:
                    await self.tick()
                except DATABASE_ERRORS as e:
                    log.warning("campaign dialer: database error (%s); trying again", type(e).__name__, exc_info=True)
                self._wake.clear()
                freed = asyncio.ensure_future(self._phones.freed().wait())
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait([freed, waker], timeout=self._tick_seconds,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    freed.cancel()
                    waker.cancel()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _reconnected(self, _conn) -> None:
        self.wake()

    async def close(self) -> None:
        for task in list(self._tasks) + [a.task for a in self.attempts.values() if a.task is not None]:
            task.cancel()
        await self.connector.close()

    async def tick(self) -> None:
        if not self.d.crm.loaded:
            return  # who is logged in is not known yet
        now = dt.datetime.now(dt.timezone.utc)
        loop_now = asyncio.get_running_loop().time()
        async with self._pool.acquire(timeout=2) as conn:
            if loop_now - self._last_lease >= LEASE_EVERY_SECONDS:
                self._last_lease = loop_now
                await q.renew_leases(conn, [a.number_id for a in self.attempts.values()], now)
                await self._forget_lost(loop_now)
                recovered = await q.recover_leases(conn, now)
                if recovered:
                    log.warning("campaign dialer: %d numbers of a stopped dialer given back", recovered)
            campaigns = await q.running_campaigns(conn)
            if campaigns and self._node and await nodes_q.first_up(conn) != self._node:
                return  # more than one PBX (issue 26): one node's app dials for all, the first up
            # Numbers go to the trunk as click-to-call sends them: nationally, after the centre's prefix.
            prefix = await appsettings.dial_prefix(conn) if campaigns else ""
            # Agents on several running campaigns (or in a queue two campaigns use) are counted once a
            # tick: a campaign's ringing and new calls take its first free agents from the next ones' view.
            spoken_for: set[int] = set()
            for campaign in campaigns:
                await self._dial(conn, campaign, now, prefix, spoken_for)
            await self._stop_cancelled(conn, {c["id"] for c in campaigns})

    async def _dial(self, conn: asyncpg.Connection, campaign: asyncpg.Record, now: dt.datetime,
                    prefix: str, spoken_for: set[int]) -> None:
        campaign_id = campaign["id"]
        self._agents[campaign_id] = [Agent(r["user_id"], r["full_name"], r["extension"])
                                     for r in await q.campaign_agents(conn, campaign_id)]
        self._queue_of[campaign_id] = campaign["queue_id"]
        await q.skip_unfit(conn, campaign_id)
        live = [a for a in self.attempts.values() if a.campaign.id == campaign_id]
        free = [a for a in await self._free_agents(campaign_id) if a.user_id not in spoken_for]
        counts = await q.pacing_counts(conn, campaign_id)
        # A call in answering-machine detection has no agent yet: it counts as one still ringing; an
        # answered one being connected is waiting for one.
        state = PacingState(free_agents=len(free), ringing=sum(isinstance(a.state, (Ringing, Detecting)) for a in live),
                            ended=counts["ended"], answered=counts["answered"], dropped=counts["dropped"],
                            waiting=sum(isinstance(a.state, Connecting) and a.agent is None for a in live))
        policy = PacingPolicy(drop_limit=float(campaign["drop_limit"]), max_ratio=float(campaign["max_ratio"]))
        wanted = calls_to_place(campaign["mode"], state, policy)
        claimed = await q.claim_numbers(conn, campaign, wanted, now=now, default_tz=self.d.timezone) if wanted else []
        if claimed:
            log.info("campaign %d: %d free agents, %d ringing: placing %d calls", campaign_id, len(free),
                     state.ringing, len(claimed))
        settings = CampaignSettings(
            id=campaign_id, mode=campaign["mode"], amd=campaign["amd"],
            amd_arguments=model.amd_arguments(model.amd_settings(_json(campaign["amd_settings"]))),
            machine_action=campaign["machine_action"], order_id=campaign["order_id"],
            caller_id=campaign["caller_id"], rules=model.retry_rules(_json(campaign["retry_rules"])))
        for row in claimed:
            await self._place(settings, row, int(campaign["ring_seconds"]), prefix)
        spoken_for.update(a.user_id for a in free[:state.ringing + state.waiting + len(claimed)])
        if not claimed and not live and await q.finish_if_done(conn, campaign_id):
            log.info("campaign %d: nothing left to dial, done", campaign_id)

    async def _stop_cancelled(self, conn: asyncpg.Connection, running: set[int]) -> None:
        """A cancelled campaign's calls still ringing are hung up (outcome cancelled); answered ones go on."""
        others = {a.campaign.id for a in self.attempts.values()} - running
        if not others:
            return
        cancelled = set(await q.cancelled_of(conn, others))
        for attempt in list(self.attempts.values()):
            if attempt.campaign.id in cancelled and isinstance(attempt.state, Ringing) and not attempt.cancelled:
                attempt.cancelled = True
                log.info("campaign %d cancelled: attempt %d to %s hung up", attempt.campaign.id, attempt.id,
                         attempt.number)
                await self.d.media.hangup(attempt.channel_id)

    async def _free_agents(self, campaign_id: int) -> list[Agent]:
        """The campaign's agents that may take a call now: available (logged in, not paused, out of
        wrap-up), their phone free and held by no call."""
        states = self.d.crm.agent_states()
        now = dt.datetime.now(dt.timezone.utc)
        free = []
        queue_id = self._queue_of.get(campaign_id)
        for agent in self._agents.get(campaign_id, []):
            presence = states.get(agent.user_id) or AgentState(agent.user_id)
            if presence.status(now) != "available" or self._phones.holder(agent.extension) is not None:
                continue
            if queue_id is not None and not presence.in_queue(queue_id):
                continue
            if await self._phones.problem(agent.extension) is None:
                free.append(agent)
        return free

    # ---- placing a call ----

    async def _place(self, campaign: CampaignSettings, row: asyncpg.Record, ring_seconds: int,
                     prefix: str) -> None:
        number = row["number_normalized"]
        attempt = Attempt(id=row["attempt_id"], channel_id=row["channel_id"], number_id=row["number_id"],
                          number=number, name=row["name"], counterparty_id=row["counterparty_id"], campaign=campaign)
        self.attempts[attempt.id] = attempt
        attempt.check_at = asyncio.get_running_loop().time() + ring_seconds + LOST_AFTER_SECONDS
        facts, _ = await self.d.crm.lookup(caller_match_key(number, self.d.region))
        _, plan = outside_phone(prefix + number.lstrip("+"), name=row["name"] or number, dialing=self.d.crm.dialing(),
                                    default_trunk=self.d.trunk, region=self.d.region)
        call = ChannelEntered(channel_id=attempt.channel_id, linked_id=attempt.channel_id,
                              caller_number=campaign.caller_id, caller_name="", called_number=plan.number,
                              line=f"{TECHNOLOGY}/{plan.trunk}", started_at=dt.datetime.now(dt.timezone.utc), args=())
        self.d.records.call_started(call, direction="outgoing", facts=facts, caller_user_id=None)
        self.d.records.writer.submit(attempt.channel_id, partial(
            q.link_call, attempt_id=attempt.id, channel_id=attempt.channel_id, order_id=campaign.order_id),
            "campaign call link")
        log.info("campaign %d: attempt %d rings %s (channel %s)", campaign.id, attempt.id, number,
                 attempt.channel_id)
        try:
            await self.d.ari.originate(endpoint=trunk_dial(plan.number, plan.trunk), channel_id=attempt.channel_id,
                                       app_args=campaign_args(attempt.id), caller_id=campaign.caller_id,
                                       timeout=ring_seconds)
        except AriError as e:
            log.warning("campaign %d: attempt %d to %s not placed (%s)", campaign.id, attempt.id, number, e)
            self.d.records.ended(attempt.channel_id, ended_at=dt.datetime.now(dt.timezone.utc), cause=None)
            await self._ended(attempt, model.FAILED, None)

    async def _forget_lost(self, loop_now: float) -> None:
        """Attempts ringing (or in AMD) far past their time whose channel Asterisk no longer has: their
        end was missed. Ended as failed, so the number is retried by the rules and the campaign can finish."""
        for attempt in list(self.attempts.values()):
            if not isinstance(attempt.state, (Ringing, Detecting)) or loop_now < attempt.check_at:
                continue
            try:
                await self.d.ari.get_channel(attempt.channel_id)
                attempt.check_at = loop_now + LOST_AFTER_SECONDS  # still there (a long AMD?): asked again later
                continue
            except AriError as e:
                if e.status != 404:
                    continue
            log.warning("channel %s: attempt %d to %s is gone from Asterisk unseen; ending it", attempt.channel_id,
                        attempt.id, attempt.number)
            self.d.records.ended(attempt.channel_id, ended_at=dt.datetime.now(dt.timezone.utc), cause=None)
            await self.channel_gone(attempt.channel_id, None)

    # ---- what the handlers report ----

    async def client_answered(self, attempt_id: int, call: ChannelEntered) -> None:
        attempt = self.attempts.get(attempt_id)
        if attempt is None or attempt.channel_id != call.channel_id:
            log.info("channel %s: campaign call of no live attempt answered; hanging up", call.channel_id)
            await self.d.media.hangup(call.channel_id)
            return
        try:
            attempt.move(attempt.state.answered(attempt.campaign.amd))
        except WrongMove as e:
            log.info("channel %s: attempt %d: %s", call.channel_id, attempt_id, e)
            return
        await self.connector.answered(attempt)

    async def amd_verdict(self, attempt_id: int, call: ChannelEntered, status: str, cause: str) -> None:
        attempt = self.attempts.get(attempt_id)
        if attempt is None or attempt.channel_id != call.channel_id:
            await self.d.media.hangup(call.channel_id)
            return
        await self.connector.verdict(attempt, status, cause)

    async def agent_answered(self, attempt_id: int, call: ChannelEntered) -> None:
        attempt = self.attempts.get(attempt_id)
        if attempt is None or not self.connector.agent_answered(attempt, call.channel_id):
            log.info("channel %s: agent answered for no waiting attempt; hanging up", call.channel_id)
            await self.d.media.hangup(call.channel_id)

    async def channel_gone(self, channel_id: str, cause: int | None) -> None:
        for attempt in list(self.attempts.values()):
            if channel_id == attempt.agent_channel_id:
                await self.connector.agent_gone(attempt)
                return
            if channel_id == attempt.channel_id:
                outcome = model.CANCELLED_ATTEMPT if attempt.cancelled and isinstance(attempt.state, Ringing) \
                    else attempt.state.ended(cause)
                attempt.client_gone.set()
                await self.connector.client_gone(attempt)
                await self._ended(attempt, outcome, cause)
                return

    async def _ended(self, attempt: Attempt, outcome: str, cause: int | None) -> None:
        self.attempts.pop(attempt.id, None)
        log.info("campaign %d: attempt %d to %s ended: %s (cause %s)", attempt.campaign.id, attempt.id,
                 attempt.number, outcome, cause)
        rules = attempt.campaign.rules
        self.d.records.writer.submit(attempt.channel_id, partial(
            q.attempt_ended, attempt_id=attempt.id, outcome=outcome, cause=cause,
            ended_at=dt.datetime.now(dt.timezone.utc), rules=rules), "campaign attempt end")
        self.wake()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
