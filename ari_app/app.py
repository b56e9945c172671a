"""Wires the Stasis app together - every object built here, once - and runs it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from functools import partial

from ari_app.call_log import CallLogWriter
from ari_app.clicktocall import ClickToCall
from ari_app.calls import CallService
from ari_app.client import CONNECTED, AriClient, AriError
from ari_app.constants import CHANNEL_DESTROYED, DEVICE_STATE_CHANGED, STASIS_END, STASIS_START
from crm.routing import queries as routing_q
from crm.routing.lookup_connections import LookupConnections
from crm.routing.view import CrmView
from ari_app.dispatcher import ChannelEventDispatcher
from ari_app.phone_states import PhoneStates
from ari_app.pops import PopSender
from ari_app.recorder import Recorder
from ari_app.resync import Resyncer
from ari_app.ringing import Ringer
from ari_app.registry import CallRegistry
from ari_app.session import SessionDeps
from crm.db import create_pool
from crm.queues.model import QueueSettings
from crm.settings import Settings

log = logging.getLogger(__name__)


async def mirror_default_queue(ari: AriClient, queue: QueueSettings) -> None:
    """The dialplan rings these phones when the app is not running (dialplan/pbxcrm.conf).

    Globals, not AstDB: ARI sets globals but cannot write DB(). They are lost
    when Asterisk restarts, so every reconnect mirrors them again.
    """
    await ari.set_global("PBXCRM_DEFAULT_DIAL", "&".join(f"PJSIP/{m.extension}" for m in queue.members))
    await ari.set_global("PBXCRM_DEFAULT_RING", str(queue.ring_seconds))
    log.info("default queue %s mirrored to the dialplan: %s", queue.name,
             ", ".join(m.extension for m in queue.members) or "no members")


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    # min_size=0: the app starts, and takes calls, even while PostgreSQL is down.
    pool = await create_pool(settings.database_url, min_size=0, max_size=10)
    lookups = LookupConnections(settings.database_url, routing_q.prepare_lookup)
    try:
        async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password,
                             settings.ari_app) as ari:
            crm = CrmView(pool, settings.lookup_budget_ms, lookups=lookups)
            phone_states = PhoneStates(ari)
            crm.on_default_queue(partial(mirror_default_queue, ari))
            call_log = CallLogWriter(pool)
            deps = SessionDeps(ari=ari, ringer=Ringer(ari, phone_states), crm=crm, call_log=call_log,
                               registry=CallRegistry(), region=settings.default_region, round_robin={},
                               recorder=Recorder(ari, call_log, settings.recordings_dir), pops=PopSender(pool),
                               timezone=settings.timezone)
            click_to_call = ClickToCall(pool, settings.database_url, ari)
            calls = CallService(deps, trunk=settings.trunk, click_to_call=click_to_call)
            dispatcher = ChannelEventDispatcher({
                STASIS_START: calls.on_stasis_start,
                STASIS_END: calls.on_stasis_end,
                CHANNEL_DESTROYED: calls.on_channel_destroyed,
                DEVICE_STATE_CHANGED: phone_states.on_device_state_changed,
            })
            tasks = [asyncio.create_task(crm.keep_fresh(), name="crm refresh"),
                     asyncio.create_task(click_to_call.listen(), name="click-to-call"),
                     asyncio.create_task(_consume(ari, dispatcher, crm, phone_states, Resyncer(ari, calls)),
                                         name="ari events")]
            await stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await dispatcher.close()
            await calls.close()
            await deps.recorder.drain(timeout=10)
            await deps.call_log.drain(timeout=5)
    finally:
        await lookups.close()
        await pool.close()
    log.info("stopped")


async def _consume(ari: AriClient, dispatcher: ChannelEventDispatcher, crm: CrmView, phone_states: PhoneStates,
                   resync: Resyncer) -> None:
    async for event in ari.events():
        if event.get("type") == CONNECTED:
            connected_at = dt.datetime.now(dt.timezone.utc)
            log.info("registered as Stasis app %r; taking up waiting channels", ari.app)
            crm.forget_mirrored()  # Asterisk may have restarted and lost the globals
            await phone_states.connected()
            try:
                # A call brings dozens of events (ChannelVarset, Dial, bridge events) the app does
                # not handle; Asterisk not sending them saves both processes the work on the call path.
                await ari.filter_events(dispatcher.event_types)
            except AriError as e:
                log.warning("ARI event filter not set (%s); unhandled events are dropped here", e)
            await crm.refresh()
            asyncio.create_task(resync(connected_at), name="resync")
            continue
        dispatcher.dispatch(event)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
