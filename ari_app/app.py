"""Runs the Stasis app: the objects are built in ari_app/wiring.py, on the shared
resources of pbxcrm/runtime.py; this connects to ARI and feeds its events in."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from functools import partial

from ari_app.caller_language import LANGUAGE_KEY
from ari_app.cancelling import cancel_until_done
from ari_app.client import CONNECTED, AriClient, AriError
from ari_app.constants import APPLICATION_REPLACED
from ari_app.dialplan_store import DialplanStore
from ari_app.standby import StasisLock, take_turns
from ari_app.wiring import StasisApp, active_tasks, background_tasks, build
from crm.queues.model import QueueSettings
from crm.settings import Settings
from pbxcrm.runtime import crm_runtime, stop_on_signals

log = logging.getLogger(__name__)

# After SIGTERM: what the calls left to write gets this long; past HARD_STOP_SECONDS the process
# ends whatever is still waiting (a database or Asterisk that does not answer).
STOP_SECONDS = 6.0
HARD_STOP_SECONDS = 9.0


async def mirror_default_queue(ari: AriClient, dial_of: Callable[[str], str], queue: QueueSettings) -> None:
    """The dialplan rings these phones when the app is not running (dialplan/pbxcrm.conf), each
    where its user's dial string says (`dial_of`; its charset keeps the & list whole). Kept in
    AstDB, which outlives an Asterisk restart (ari_app/dialplan_store.py)."""
    store = DialplanStore.of(ari)
    await store.put("default_dial", "&".join(dial_of(m.extension) for m in queue.members))
    await store.put("default_ring", str(queue.ring_seconds))
    log.info("default queue %s mirrored to the dialplan: %s", queue.name,
             ", ".join(m.extension for m in queue.members) or "no members")


async def mirror_centre_language(ari: AriClient, language: str | None) -> None:
    """The dialplan's default queue speaks this language to callers whose line has none
    (dialplan/pbxcrm.conf; the rule is ari_app/caller_language.py's). In AstDB, as above."""
    await DialplanStore.of(ari).put(LANGUAGE_KEY, language or "")
    log.info("call centre's language mirrored to the dialplan: %s", language or "none")


class PhoneDialsMirror:
    """Without the app, a phone that dials an extension is put through by the dialplan
    ([pbxcrm-phones]): to PJSIP/<extension>, or to DB(pbxcrm/phone_<extension>) where
    the user's dial string is another (SIP/1001, Local/...). Kept as the settings above are."""

    def __init__(self, ari: AriClient):
        self._store = DialplanStore.of(ari)
        self._set: set[str] = set()

    async def __call__(self, dials: Mapping[str, str]) -> None:
        for extension, dial in dials.items():
            await self._store.put(f"phone_{extension}", dial)
        for extension in self._set - set(dials):
            await self._store.put(f"phone_{extension}", "")
        self._set = set(dials)
        if dials:
            log.info("dial strings of %d phone(s) mirrored to the dialplan", len(dials))


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    # Run as `pbxcrm ari`, a stop that takes too long ends the process anyway (pbxcrm/runtime.py).
    stop = stop or stop_on_signals(exit_after=HARD_STOP_SECONDS)
    async with crm_runtime(settings) as runtime:
        async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password,
                             settings.ari_app) as ari:
            app = build(ari, runtime, mirror_default_queue, mirror_centre_language, PhoneDialsMirror(ari))
            tasks = background_tasks(app)  # a standby's too: its routing data kept warm
            # One active process per Stasis app of each node: the nodes' apps share a name, not an Asterisk.
            lock = StasisLock(settings.database_url, f"{settings.ari_app}@{settings.node}" if settings.node
                              else settings.ari_app)
            try:
                await take_turns(lock, stop, partial(active_tasks, app, _consume), app.step_down,
                                 leaving=app.phone_states.leaving)
            finally:
                # Cancelled again while one swallows it (ari_app/cancelling.py), for at most 2 s.
                await cancel_until_done(tasks, seconds=2)
                await _let_go_of_messages(app)
                await app.step_down()
                lock.release()  # a standby takes over while the calls' writes are finished here
                await app.close(seconds=STOP_SECONDS)
    log.info("stopped")


async def _let_go_of_messages(app: StasisApp) -> None:
    """An active process stopping: the SIP gateways' MESSAGEs refused by Asterisk, not dropped (ari_app/sms/)."""
    try:
        await asyncio.wait_for(app.sms.stop_receiving(), 2)
    except (AriError, asyncio.TimeoutError) as e:
        log.warning("sms gateway endpoints not let go (%s)", e)


async def _consume(app: StasisApp) -> None:
    """The active process's events; returns when Asterisk gives the Stasis app to another process."""
    ari, dispatcher, crm, phone_states = app.ari, app.dispatcher, app.runtime.crm, app.phone_states
    async for event in ari.events():
        if event.get("type") == CONNECTED:
            connected_at = dt.datetime.now(dt.timezone.utc)
            log.info("registered as Stasis app %r; taking up waiting channels", ari.app)
            crm.forget_mirrored()  # what changed while away is written again (ari_app/dialplan_store.py)
            await phone_states.connected()
            try:
                # A call brings dozens of events (ChannelVarset, Dial, bridge events) the app does
                # not handle; Asterisk not sending them saves both processes the work on the call path.
                # ApplicationReplaced too passes this filter only when listed.
                await ari.filter_events([*dispatcher.event_types, APPLICATION_REPLACED])
            except AriError as e:
                log.warning("ARI event filter not set (%s); unhandled events are dropped here", e)
            # The routing data now, the PBX's copy of it (forgotten above) in the background: writing it
            # takes a while, and events unread for 4.5 s (aiohttp reads the pongs with them) drop the link.
            await crm.refresh(mirror=False)
            crm.changed()
            # A GSM gateway's MESSAGEs reach only an app subscribed to its endpoint (ari_app/sms/).
            try:
                await app.sms.subscribe()
            except Exception as e:  # the calls go on whatever this says; ari_app/sms/ tries again
                log.warning("sms gateway endpoints not subscribed (%s: %s); again within a minute", type(e).__name__, e)
            asyncio.create_task(app.resync(connected_at), name="resync")
            continue
        if event.get("type") == APPLICATION_REPLACED:
            log.warning("Asterisk gave Stasis app %r to another connection", ari.app)
            return
        dispatcher.dispatch(event)
