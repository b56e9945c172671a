"""An answered campaign call (issue 22): answering-machine detection when the campaign asks for it,
then a free agent's phone rung and bridged to the client within `connect_seconds` of the answer (of
AMD's verdict, when it listened first: the 2-second rule counts from the end of the greeting), the
agent's screen popped as for an inbound call; no free agent in time: a short message and the call ends
(dropped). The attempt's state (ari_app/campaigns/states.py) says which move is allowed."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg

from ari_app.campaigns.attempts import Agent, Attempt
from ari_app.campaigns.states import Connecting, Detecting, Machine, Talking, WrongMove
from ari_app.client import AriError
from ari_app.constants import CAMPAIGN_AMD_CONTEXT, campaign_agent_args
from ari_app.deps import SessionDeps
from ari_app.phone_states import PhoneStates
from ari_app.registry import caller_id_text
from crm.dialing.technology import auto_answer_variables, click_dial
from crm.outbound import queries as q
from crm.pops.events import PopEvent

log = logging.getLogger(__name__)

# What a client no agent could take hears before the call ends: "Nobody is available to take your call".
DROP_MESSAGE = "sound:vm-nobodyavail"
DROP_MESSAGE_SECONDS = 3.0
# The channel variables the dialplan's pbxcrm-campaign-amd reads (dialplan/pbxcrm.conf).
AMD_VARIABLE, ATTEMPT_VARIABLE = "PBXCRM_AMD", "PBXCRM_ATTEMPT"

FreeAgents = Callable[[int], Awaitable[list[Agent]]]


class Connector:
    def __init__(self, deps: SessionDeps, pool: asyncpg.Pool, phone_states: PhoneStates, free_agents: FreeAgents, *,
                 connect_seconds: float, agent_ring_seconds: int):
        self.d = deps
        self._pool = pool
        self._phones = phone_states
        self._free_agents = free_agents
        self._connect_seconds = connect_seconds
        self._agent_ring_seconds = agent_ring_seconds
        self._tasks: set[asyncio.Task] = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _write(self, attempt: Attempt, write, what: str) -> None:
        self.d.records.writer.submit(attempt.channel_id, write, what)

    async def answered(self, attempt: Attempt) -> None:
        """The client picked up (its state has moved): AMD first, or straight to an agent."""
        ch = attempt.channel_id
        attempt.answered_at = asyncio.get_running_loop().time()
        self._write(attempt, partial(q.attempt_answered, attempt_id=attempt.id, at=_now()), "campaign answer")
        if isinstance(attempt.state, Detecting):
            try:
                await self.d.ari.set_variable(ch, AMD_VARIABLE, attempt.campaign.amd_arguments)
                await self.d.ari.set_variable(ch, ATTEMPT_VARIABLE, str(attempt.id))
                await self.d.ari.continue_in_dialplan(ch, context=CAMPAIGN_AMD_CONTEXT, extension="s", priority=1)
                log.info("channel %s: attempt %d to %s answered, AMD runs", ch, attempt.id, attempt.number)
                return
            except AriError as e:
                log.warning("channel %s: AMD not started (%s); the call goes to an agent", ch, e)
                attempt.move(Connecting())
        self._start(attempt)

    async def verdict(self, attempt: Attempt, status: str, cause: str) -> None:
        """Back from the dialplan's AMD: a machine is hung up (or goes to an agent, by the campaign)."""
        self._write(attempt, partial(q.attempt_amd, attempt_id=attempt.id, status=status, cause=cause), "AMD verdict")
        try:
            attempt.move(attempt.state.verdict(status, attempt.campaign.machine_action))
        except WrongMove as e:
            log.info("channel %s: attempt %d: %s", attempt.channel_id, attempt.id, e)
            return
        log.info("channel %s: attempt %d AMD says %s (%s): %s", attempt.channel_id, attempt.id, status, cause,
                 attempt.state.name)
        if isinstance(attempt.state, Machine):
            await self.d.media.hangup(attempt.channel_id)
        else:
            self._start(attempt)

    def agent_answered(self, attempt: Attempt, channel_id: str) -> bool:
        if channel_id != attempt.agent_channel_id or attempt.agent_result is None or attempt.agent_result.done():
            return False
        attempt.agent_result.set_result(True)
        return True

    async def agent_gone(self, attempt: Attempt) -> None:
        attempt.agent_live = False
        if attempt.agent_result is not None and not attempt.agent_result.done():
            attempt.agent_result.set_result(False)
        elif isinstance(attempt.state, Talking):
            log.info("channel %s: the agent hung up; ending the client's call", attempt.channel_id)
            await self.d.media.hangup(attempt.channel_id)

    async def client_gone(self, attempt: Attempt) -> None:
        if attempt.task is not None and not attempt.task.done():
            attempt.task.cancel()
        if attempt.agent_live:
            await self.d.media.hangup(attempt.agent_channel_id)
        if attempt.bridge is not None:
            await self.d.media.destroy_bridge(attempt.bridge)
        self._phones.release(attempt.channel_id)

    # ---- to an agent ----

    def _start(self, attempt: Attempt) -> None:
        attempt.heard_at = asyncio.get_running_loop().time()
        task = asyncio.create_task(self._connect(attempt), name=f"campaign attempt {attempt.id}")
        attempt.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, attempt: Attempt) -> None:
        ch = attempt.channel_id
        try:
            attempt.bridge = await self.d.media.create_bridge(ch)
            await self.d.media.add_channels(attempt.bridge, [ch])
        except AriError as e:
            log.warning("channel %s: no bridge for the answered attempt (%s)", ch, e)
        loop = asyncio.get_running_loop()
        deadline = (attempt.heard_at or loop.time()) + self._connect_seconds
        while not attempt.client_gone.is_set():
            agent = await self._reserve(attempt, deadline)
            if agent is None:
                break
            if await self._ring(attempt, agent):
                await self._talk(attempt, agent)
                return
            self._phones.release(ch, [agent.extension])
        if attempt.client_gone.is_set():
            return
        attempt.move(attempt.state.no_agent())
        log.warning("channel %s: attempt %d to %s: no free agent within %.1f s, dropped", ch, attempt.id,
                    attempt.number, self._connect_seconds)
        await self.d.media.quietly(ch, self.d.media.play(ch, DROP_MESSAGE, ""))
        try:
            await asyncio.wait_for(attempt.client_gone.wait(), DROP_MESSAGE_SECONDS)
        except TimeoutError:
            await self.d.media.hangup(ch)

    async def _reserve(self, attempt: Attempt, deadline: float) -> Agent | None:
        """A free agent of the campaign, its phone reserved for this call; None when none is free by
        the deadline (or the client left)."""
        loop = asyncio.get_running_loop()
        while not attempt.client_gone.is_set():
            freed = self._phones.freed()
            free = await self._free_agents(attempt.campaign.id)
            got = self._phones.try_reserve(attempt.channel_id, [a.extension for a in free], limit=1)
            if got:
                return next(a for a in free if a.extension == got[0])
            left = deadline - loop.time()
            if left <= 0:
                return None
            gone = asyncio.ensure_future(attempt.client_gone.wait())
            waiting = asyncio.ensure_future(freed.wait())
            try:
                await asyncio.wait([gone, waiting], timeout=min(left, 0.25), return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                waiting.cancel()
        return None

    async def _ring(self, attempt: Attempt, agent: Agent) -> bool:
        """Ring the agent's phone; True once it answered (the client still there)."""
        attempt.agent, attempt.agent_live = agent, True
        attempt.agent_result = asyncio.get_running_loop().create_future()
        # One phone (a user with both rings the browser's, as click-to-call), told to answer by itself: the
        # client is already on the line.
        endpoint = click_dial(self.d.ringer.where_to_ring(agent.extension))
        try:
            await self.d.ari.originate(endpoint=endpoint, channel_id=attempt.agent_channel_id,
                                       app_args=campaign_agent_args(attempt.id),
                                       caller_id=caller_id_text(attempt.name or attempt.number, attempt.number),
                                       timeout=self._agent_ring_seconds,
                                       variables=auto_answer_variables(endpoint, f"campaign-{attempt.id}"))
        except AriError as e:
            log.warning("channel %s: agent %s's phone %s not rung (%s)", attempt.channel_id, agent.user_id,
                        endpoint, e)
            attempt.agent_live = False
            self._phones.forget(agent.extension)
            return False
        self._phones.dialled(agent.extension)
        self._pop(attempt, agent, "ringing")
        gone = asyncio.ensure_future(attempt.client_gone.wait())
        try:
            await asyncio.wait([attempt.agent_result, gone], timeout=self._agent_ring_seconds + 5,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if attempt.agent_result.done() and attempt.agent_result.result() and not attempt.client_gone.is_set():
            return True
        if attempt.agent_live:
            await self.d.media.hangup(attempt.agent_channel_id)
            for _ in range(40):  # its ChannelDestroyed frees the channel id for the next agent
                if not attempt.agent_live:
                    break
                await asyncio.sleep(0.05)
        self._pop(attempt, agent, "ended")
        return False

    async def _talk(self, attempt: Attempt, agent: Agent) -> None:
        ch = attempt.channel_id
        try:
            if attempt.bridge is None:
                raise AriError("POST", "/bridges", 0, "no bridge")
            await self.d.media.add_channels(attempt.bridge, [attempt.agent_channel_id])
        except AriError as e:
            log.warning("channel %s: agent %s not bridged (%s); ending the call", ch, agent.user_id, e)
            await self.d.media.hangup(attempt.agent_channel_id)
            await self.d.media.hangup(ch)
            return
        attempt.move(attempt.state.agent_answered())
        # The 2-second rule: dial_attempts keeps answered_at and bridged_at for the reports.
        waited = asyncio.get_running_loop().time() - (attempt.answered_at or 0.0)
        log.info("channel %s: attempt %d to %s bridged to agent %s (%s) %.2f s after the answer", ch, attempt.id,
                 attempt.number, agent.user_id, agent.extension, waited)
        self._write(attempt, partial(q.attempt_bridged, attempt_id=attempt.id, at=_now(),
                                     agent_user_id=agent.user_id), "campaign bridge")
        self.d.records.answered(ch, operator_user_id=agent.user_id, queue_id=None)
        self.d.records.leg_started(ch, user_id=agent.user_id, name=agent.name)
        self._pop(attempt, agent, "answered")

    def _pop(self, attempt: Attempt, agent: Agent, event: str) -> None:
        if self.d.pops is None:
            return
        self.d.pops.send(PopEvent(user_id=agent.user_id, event=event, channel_id=attempt.channel_id,
                                  direction="outgoing", number=attempt.number, counterparty_id=attempt.counterparty_id,
                                  name=attempt.name or attempt.number))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
