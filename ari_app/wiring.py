"""The Stasis app's composition root: every object of the call path built here, once.

The shared half (pool, lookup connections, the CRM's routing view, signals) comes
from pbxcrm/runtime.py, which `pbxcrm agi` uses too; this adds what talks to ARI
and wires the features (inbound/, outbound/, clicktocall/, recording/, resync/, transfers/):
which handler takes which channel's events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial

from ari_app.agents import AgentService
from ari_app.call_log import CallLogWriter
from ari_app.call_path import CallPath
from ari_app.calls import CallService
from ari_app.campaigns.handlers import CampaignHandlers
from ari_app.campaigns.service import CampaignDialer
from ari_app.clicktocall.handlers import ClickToCallHandlers
from ari_app.clicktocall.service import ClickToCall
from ari_app.client import AriClient
from ari_app.cluster.heartbeat import keep_saying
from ari_app.cluster.shared import SharedState
from ari_app.constants import (
    CHANNEL_DESTROYED,
    CHANNEL_DTMF_RECEIVED,
    CHANNEL_TRANSFER,
    CLICK_TO_CALL_PREFIX,
    DEVICE_STATE_CHANGED,
    EVENT_TYPES,
    PLAYBACK_FINISHED,
    PURPOSE_AGENT,
    PURPOSE_CAMPAIGN,
    PURPOSE_CAMPAIGN_AGENT,
    PURPOSE_CAMPAIGN_AMD,
    PURPOSE_CLICK_TO_CALL,
    PURPOSE_INBOUND,
    PURPOSE_INTERNAL,
    PURPOSE_OUTBOUND,
    PURPOSE_SNOOP,
    PURPOSE_SUPERVISOR,
    RECORDING_FAILED,
    RECORDING_FINISHED,
    STASIS_END,
    STASIS_START,
    SUPERVISION_PREFIX,
    TEXT_MESSAGE_RECEIVED,
)
from ari_app.deps import SessionDeps
from ari_app.dispatcher import ChannelEventDispatcher
from ari_app.inbound.handlers import InboundHandlers
from ari_app.inbound.session import CallSession
from ari_app.media import CallMedia
from ari_app.outbound.handlers import OutboundHandlers, session_factory
from ari_app.phone_states import PhoneStates
from ari_app.pops import PopSender
from ari_app.recording.service import Recorder
from ari_app.recording.voicemail import VoicemailRecorder
from ari_app.registry import CallRegistry
from ari_app.resync import Resyncer
from ari_app.ringing import Ringer
from ari_app.sms.handlers import SmsHandlers
from ari_app.supervision.handlers import SupervisionHandlers
from ari_app.supervision.service import SupervisionService
from ari_app.transfers.handlers import TransferHandlers
from ari_app.transfers.service import TransferService
from crm import lines
from crm.agents import queries as agents_q
from crm.cel.reconciler import reconcile_forever
from crm.listen import listen_forever
from pbxcrm.runtime import Runtime


@dataclass
class StasisApp:
    ari: AriClient
    runtime: Runtime
    deps: SessionDeps
    phone_states: PhoneStates
    click_to_call: ClickToCall
    calls: CallService
    dispatcher: ChannelEventDispatcher
    resync: Resyncer
    transfers: TransferService
    agents: AgentService
    supervision: SupervisionService
    sms: SmsHandlers
    dialer: CampaignDialer

    async def step_down(self) -> None:
        """No longer the active process (stopping, or another took the Stasis app): the calls'
        tasks end and their ringing phones are hung up; the callers are left to the next active one."""
        self.sms.receiving = False  # another process holds the app, and the endpoints' subscriptions
        await self.dispatcher.close()
        await self.calls.close()
        await self.agents.close()
        await self.supervision.close()
        await self.dialer.close()

    async def close(self, seconds: float = 8.0) -> None:
        """At the end: finish what the calls left to do (recordings, the call log), within `seconds`."""
        await self.step_down()
        deadline = asyncio.get_running_loop().time() + seconds
        if self.deps.recorder is not None:
            await self.deps.recorder.drain(timeout=seconds * 2 / 3)
        await self.deps.records.drain(timeout=max(0.5, deadline - asyncio.get_running_loop().time()))


def build(ari: AriClient, runtime: Runtime, mirror_default_queue, mirror_centre_language,
          mirror_phone_dials=None) -> StasisApp:
    settings, pool, crm = runtime.settings, runtime.pool, runtime.crm
    phone_states = PhoneStates(ari, crm.dial_of)  # each phone rung where its user's dial string says
    # More than one PBX (issue 26): the other nodes' phones, holds and round robin turns.
    shared = SharedState(pool, settings.database_url, settings.node) if settings.node else None
    if shared is not None:
        phone_states.share_with(shared)
    ring_dial = phone_states.where_to_ring  # a phone of another node through that node's trunk
    crm.on_default_queue(partial(mirror_default_queue, ari, ring_dial))
    crm.on_centre_language(partial(mirror_centre_language, ari))
    if mirror_phone_dials is not None:
        crm.on_dials(mirror_phone_dials)
    media = CallMedia(ari)  # the one adapter every ARI media and bridge operation goes through
    # The calls being routed come first: the call log, pops and recordings wait for them (issue 25).
    call_path = CallPath()
    deps = SessionDeps(ari=ari, media=media, ringer=Ringer(media, phone_states), crm=crm,
                       call_log=CallLogWriter(pool, call_path=call_path), registry=CallRegistry(),
                       region=settings.default_region, round_robin=shared.turns if shared is not None else {},
                       pops=PopSender(pool, call_path),
                       timezone=settings.timezone, trunk=settings.trunk, greetings_dir=settings.greetings_sound_dir,
                       call_path=call_path)
    deps.recorder = Recorder(media, deps.records, settings.recordings_dir, call_path)
    deps.voicemail = VoicemailRecorder(media, deps.records, deps.recorder)
    # Agent presence (issue 18): a change read from the database, or a wrap-up's end, may free an agent.
    crm.on_agents(phone_states.wake)
    deps.agents = agents = AgentService(pool, crm, media, phone_states.wake)
    click_to_call = ClickToCall(pool, settings.database_url, media, ring_dial)
    placed = session_factory(settings.trunk)
    calls = CallService(deps, sessions={PURPOSE_INBOUND: CallSession, PURPOSE_OUTBOUND: placed,
                                        PURPOSE_INTERNAL: placed})
    inbound, outbound = InboundHandlers(calls), OutboundHandlers(calls)
    c2c = ClickToCallHandlers(click_to_call, calls)
    calls.on_entered(PURPOSE_INBOUND, inbound.on_entered)
    calls.on_entered(PURPOSE_OUTBOUND, outbound.on_entered)
    calls.on_entered(PURPOSE_INTERNAL, outbound.on_entered)
    calls.on_entered(PURPOSE_CLICK_TO_CALL, c2c.on_answered)
    calls.on_entered(PURPOSE_AGENT, agents.on_entered)
    calls.on_gone(CLICK_TO_CALL_PREFIX, c2c.on_gone)
    transfers = TransferService(deps, pool, settings.database_url)
    # Listen-in, whisper and barge (issue 18): the supervisor's phone, its snoop, their ends.
    supervision = SupervisionService(deps, pool, settings.database_url, ring_dial)
    watching = SupervisionHandlers(supervision)
    sms = SmsHandlers(ari, pool, settings.default_region)  # a GSM gateway's SIP MESSAGEs (issue 21)
    calls.on_entered(PURPOSE_SUPERVISOR, watching.on_answered)
    calls.on_entered(PURPOSE_SNOOP, watching.on_snoop)
    calls.on_gone(SUPERVISION_PREFIX, watching.on_gone)
    # The campaign dialer (issue 22): its clients' answers, AMD verdicts, agents' answers and channel ends.
    dialer = CampaignDialer(deps, pool, settings.database_url, phone_states, node=settings.node)
    campaigns = CampaignHandlers(dialer, calls)
    calls.on_entered(PURPOSE_CAMPAIGN, campaigns.on_answered)
    calls.on_entered(PURPOSE_CAMPAIGN_AMD, campaigns.on_amd)
    calls.on_entered(PURPOSE_CAMPAIGN_AGENT, campaigns.on_agent_answered)
    handlers = {
        STASIS_START: calls.on_stasis_start,
        STASIS_END: calls.on_stasis_end,
        CHANNEL_DESTROYED: campaigns.on_channel_destroyed,  # the campaign's first, then calls.on_channel_destroyed
        DEVICE_STATE_CHANGED: phone_states.on_device_state_changed,
        CHANNEL_DTMF_RECEIVED: calls.on_dtmf,
        PLAYBACK_FINISHED: calls.on_playback_finished,
        RECORDING_FINISHED: calls.on_recording_ended,
        RECORDING_FAILED: calls.on_recording_ended,
        CHANNEL_TRANSFER: TransferHandlers(transfers).on_channel_transfer,
        TEXT_MESSAGE_RECEIVED: sms.on_text_message,
    }
    # EVENT_TYPES is also the filter Asterisk is given (dispatcher.event_types): one list.
    dispatcher = ChannelEventDispatcher({event_type: handlers[event_type] for event_type in EVENT_TYPES})
    return StasisApp(ari=ari, runtime=runtime, deps=deps, phone_states=phone_states, click_to_call=click_to_call,
                     calls=calls, dispatcher=dispatcher, resync=Resyncer(ari, calls, supervision.holds),
                     transfers=transfers, agents=agents, supervision=supervision, sms=sms, dialer=dialer)


def background_tasks(app: StasisApp) -> list[asyncio.Task]:
    """What every `pbxcrm ari` process runs, a standby too (ari_app/standby.py): fresh routing data, CEL."""
    crm = app.runtime.crm

    async def reconnected(_conn) -> None:
        crm.changed()  # a change may have come while the LISTEN was down

    quiet = app.deps.call_path.clear  # neither reads while a call is being looked up (issue 25)
    return [asyncio.create_task(crm.keep_fresh(quiet), name="crm refresh"),
            asyncio.create_task(listen_forever(app.runtime.settings.database_url, lines.CHANGED_CHANNEL,
                                               lambda _payload: crm.changed(), on_connected=reconnected),
                                name="routing changes"),
            # An agent logged in, paused, resumed, ended its wrap-up (the web, a phone, another process):
            # read them again.
            asyncio.create_task(listen_forever(app.runtime.settings.database_url, agents_q.CHANNEL,
                                               crm.agent_changed, on_connected=reconnected),
                                name="agent changes"),
            # The calls the app did not see, from Asterisk's own records (crm/cel/): one reconciler at a
            # time whatever the processes (its checkpoint's row lock), so a standby's waits its turn.
            asyncio.create_task(reconcile_forever(app.runtime.pool, app.runtime.settings, quiet),
                                name="cel reconciler"),
            *cluster_tasks(app)]


def cluster_tasks(app: StasisApp) -> list[asyncio.Task]:
    """More than one PBX (issue 26): this node's word, and what it shares with the other nodes."""
    settings, shared = app.runtime.settings, app.phone_states.shared
    if not settings.node or shared is None:
        return []
    return [asyncio.create_task(keep_saying(app.runtime.pool, app.ari, settings.node, lambda: len(app.deps.registry)),
                                name="node heartbeat"),
            asyncio.create_task(shared.run(), name="node shared state")]


def active_tasks(app: StasisApp, consume) -> list[asyncio.Task]:
    """What only the active process runs: the Stasis app's events, click-to-call (which rings a phone
    whose answer reaches the app that holds the name), the web's transfers and supervision (of its
    live calls) and the SIP gateways' MESSAGE subscriptions."""
    return [asyncio.create_task(app.click_to_call.listen(), name="click-to-call"),
            asyncio.create_task(app.transfers.listen(), name="web transfers"),
            asyncio.create_task(app.supervision.listen(), name="web supervision"),
            asyncio.create_task(app.sms.keep_subscribed(), name="sms gateway endpoints"),
            asyncio.create_task(app.dialer.run(), name="campaign dialer"),
            asyncio.create_task(consume(app), name="ari events")]
