"""The CRM as the call path sees it (the Stasis app and the FastAGI server): a caller
lookup within a time budget, and the routing policy, queues, lines, IVR menus, dialling
(crm/dialing/) and the call centre's language, cached so calls still route while
PostgreSQL does not answer. The cache is read again every few seconds, and at once
when a line or menu changes (NOTIFY crm.lines.CHANGED_CHANNEL: `changed()`)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

import asyncpg

from crm import appsettings
from crm.agents import queries as agents_q
from crm.agents.state import AgentState
from crm.db import DATABASE_ERRORS
from crm.dialing import queries as dialing_q
from crm.dialing.model import Dialing
from crm.ivr import queries as ivr_q
from crm.ivr.model import Menu
from crm.lines import queries as lines_q
from crm.lines.model import Line, did_key, trunk_of
from crm.queues import queries as queues_q
from crm.queues.model import QueueSettings
from crm.recordings import queries as rec_q
from crm.recordings.policy import RecordingPolicy
from crm.routing import queries as routing_q
from crm.routing.decide import CallerFacts, QueueRef, RoutingPolicy
from crm.routing.lookup_connections import LookupConnections
from crm.users import queries as users_q

log = logging.getLogger(__name__)

# Called with the default queue whenever it changes, to mirror it into the PBX.
DefaultQueueListener = Callable[[QueueSettings], Awaitable[None]]
# Called with the call centre's language (None: not set) whenever it changes, for the same reason.
LanguageListener = Callable[[str | None], Awaitable[None]]
# Called with the users' dial strings that are not the default (extension -> dial) when they change.
DialsListener = Callable[[Mapping[str, str]], Awaitable[None]]
# Called when the agents' presence read from the database changed (a paused agent resumed...).
AgentsListener = Callable[[], None]
_UNKNOWN = object()  # no language told to the listeners yet


class CrmView:
    def __init__(self, pool: asyncpg.Pool, budget_ms: int, *, refresh_seconds: float = 5.0,
                 lookups: LookupConnections | None = None):
        self._pool = pool
        # The call path's own connections; without them (tests) lookups share the pool.
        self._lookups = lookups
        self._budget = budget_ms / 1000
        self._refresh_seconds = refresh_seconds
        self._policy = RoutingPolicy(default_queue=QueueRef(None, "Default"))
        self._recording = RecordingPolicy()
        self._queues: dict[int | None, QueueSettings] = {}
        self._loaded = False
        self._listeners: list[DefaultQueueListener] = []
        self._last_default: QueueSettings | None = None
        self._language: str | None = None
        self._language_listeners: list[LanguageListener] = []
        self._last_language: object = _UNKNOWN
        self._lines: dict[tuple[str, str], Line] = {}
        self._menus: dict[int, Menu] = {}  # the live IVR menus by id (crm/ivr/)
        self._changed = asyncio.Event()
        # Dial rules, users' dial strings, follow me (crm/dialing/): read with the rest.
        self._dialing = Dialing()
        self._dials_listeners: list[DialsListener] = []
        self._last_dials: Mapping[str, str] | None = None
        # Agent presence (crm/agents/): as read, and the wrap-ups this process started since (a read
        # that began before its own write must not end a wrap-up early).
        self._agents: dict[int, AgentState] = {}
        self._wrapups: dict[int, dt.datetime] = {}
        self._agents_listeners: list[AgentsListener] = []

    @property
    def loaded(self) -> bool:
        """False until policy and queues were read once: then only the dialplan can route."""
        return self._loaded

    def on_default_queue(self, listener: DefaultQueueListener) -> None:
        self._listeners.append(listener)

    def on_centre_language(self, listener: LanguageListener) -> None:
        self._language_listeners.append(listener)

    def on_dials(self, listener: DialsListener) -> None:
        self._dials_listeners.append(listener)

    def on_agents(self, listener: AgentsListener) -> None:
        self._agents_listeners.append(listener)

    def agent_states(self) -> dict[int, AgentState]:
        """Every agent's presence as known (no entry: logged in, crm/agents/state.py), with the
        wrap-ups this process started."""
        if not self._wrapups:
            return self._agents
        now = dt.datetime.now(dt.timezone.utc)
        states = dict(self._agents)
        for user_id, until in list(self._wrapups.items()):
            if until <= now:
                del self._wrapups[user_id]
                continue
            state = states.get(user_id) or AgentState(user_id)
            if state.wrapup_until is None or state.wrapup_until < until:
                states[user_id] = dataclasses.replace(state, wrapup_until=until)
        return states

    def note_wrapup(self, user_id: int, until: dt.datetime) -> None:
        """This agent is not rung before `until` (its wrap-up), whatever the next read says."""
        self._wrapups[user_id] = until

    def agent_changed(self, payload: str) -> None:
        """A NOTIFY of an agent's change (crm/agents/queries.py): read the states again now. A wrap-up
        ended early ("until": the time it was to end) forgets this process's note of that wrap-up,
        not of a later one."""
        try:
            change = json.loads(payload)
            if change.get("event") == "wrapup_end" and change.get("until"):
                user_id, until = int(change["user_id"]), dt.datetime.fromisoformat(change["until"])
                if self._wrapups.get(user_id) == until:
                    del self._wrapups[user_id]
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("agent change not understood: %.200s", payload)
        self.changed()

    def forget_mirrored(self) -> None:
        """Tell the listeners about the default queue and the language again at the next refresh."""
        self._last_default = None
        self._last_language = _UNKNOWN
        self._last_dials = None

    def centre_language(self) -> str | None:
        """The call centre's language (Admin settings), or None when it has none."""
        return self._language

    def policy(self) -> RoutingPolicy:
        return self._policy

    def recording_policy(self) -> RecordingPolicy:
        return self._recording

    def line(self, channel_line: str, called_number: str) -> Line | None:
        """The line of a call that came in on this endpoint ("PJSIP/trunk") to this number, or None."""
        return self._lines.get((trunk_of(channel_line), did_key(called_number)))

    def live_queues(self) -> dict[int | None, QueueSettings]:
        return self._queues

    def menus(self) -> dict[int, Menu]:
        """The live IVR menus by id."""
        return self._menus

    def changed(self) -> None:
        """Routing data changed (a NOTIFY): read it again now rather than at the next refresh."""
        self._changed.set()

    def dialing(self) -> Dialing:
        return self._dialing

    def dial_of(self, extension: str) -> str:
        """Where the phone of this extension is rung (PJSIP/102, SIP/1001, Local/...@...)."""
        return self._dialing.dial_of(extension)

    def queue(self, queue_id: int | None) -> QueueSettings | None:
        if queue_id is None:
            queue_id = self._policy.default_queue.id
        return self._queues.get(queue_id) if queue_id is not None else None

    async def lookup(self, normalized: str | None) -> tuple[CallerFacts | None, str | None]:
        """(facts, None), or (None, why the CRM could not tell) - never later than the budget."""
        if normalized is None:
            return None, "the caller's number is hidden or not a phone number"
        try:
            # asyncio.timeout, not wait_for: no extra task, so no extra loop turn on the call path.
            async with asyncio.timeout(self._budget):
                return await self._lookup(normalized), None
        except TimeoutError:
            return None, f"CRM lookup took longer than {int(self._budget * 1000)} ms"
        except DATABASE_ERRORS as e:
            return None, f"CRM database unavailable ({type(e).__name__})"

    async def user_by_extension(self, extension: str):
        """The active user whose phone this is, or None (unknown, or the CRM did not answer in time)."""
        try:
            return await asyncio.wait_for(self._user(extension), self._budget)
        except DATABASE_ERRORS as e:
            log.warning("user of extension %s not known: %s", extension, type(e).__name__)
            return None

    async def _user(self, extension: str):
        async with self._pool.acquire() as conn:
            return await users_q.active_user_by_extension(conn, extension)

    async def _lookup(self, normalized: str) -> CallerFacts | None:
        if self._lookups is not None:
            return await self._lookups.run(routing_q.lookup_caller, normalized)
        async with self._pool.acquire() as conn:
            return await routing_q.lookup_caller(conn, normalized)

    async def refresh(self, mirror: bool = True) -> bool:
        """Read the routing data again; `mirror`: and write what changed of it into the PBX (the users' dial
        strings, the default queue, the language). Mirroring asks Asterisk once per value, one after another:
        half a minute for 1,000 users with dial strings of their own (issue 25), so the Stasis app's
        reconnect does it through `changed()`, off the loop that reads the events."""
        try:
            async with self._pool.acquire(timeout=2) as conn:
                policy = await routing_q.load_policy(conn)
                queues = {q.id: q for q in await queues_q.list_queues(conn)}
                recording = await rec_q.load_policy(conn)
                language = await appsettings.centre_language(conn)
                lines = {(line.trunk, did_key(line.did)): line for line in await lines_q.load_lines(conn)}
                dialing = await dialing_q.load(conn)
                menus = await ivr_q.load_menus(conn)
                agents = await agents_q.load_states(conn)
        except DATABASE_ERRORS as e:
            if self._loaded:
                log.warning("routing data not refreshed (%s); using the last known", type(e).__name__)
            return False
        self._policy, self._queues, self._recording, self._loaded = policy, queues, recording, True
        self._language, self._lines = language, lines
        self._dialing = dialing
        self._menus = menus
        if agents != self._agents:
            self._agents = agents
            for agents_listener in self._agents_listeners:
                agents_listener()
        if self._lookups is not None:
            try:
                await asyncio.wait_for(self._lookups.fill(), 3)
            except DATABASE_ERRORS as e:
                log.warning("lookup connections not all open (%s); opened on demand", type(e).__name__)
        if mirror:
            await self._mirror(dialing, queues.get(policy.default_queue.id), language)
        return True

    async def _mirror(self, dialing: Dialing, default: QueueSettings | None, language: str | None) -> None:
        if dialing.dials != self._last_dials:
            self._last_default = None  # the default queue's phones may ring elsewhere now
            try:
                for dials_listener in self._dials_listeners:
                    await dials_listener(dialing.dials)
                self._last_dials = dialing.dials
            except Exception as e:  # tried again at the next refresh
                log.warning("users' dial strings not mirrored yet: %s", e)
        if default is not None and default != self._last_default:
            try:
                for listener in self._listeners:
                    await listener(default)
                self._last_default = default
            except Exception as e:  # tried again at the next refresh
                log.warning("default queue not mirrored yet: %s", e)
        if language != self._last_language:
            try:
                for language_listener in self._language_listeners:
                    await language_listener(language)
                self._last_language = language
            except Exception as e:  # tried again at the next refresh
                log.warning("call centre's language not mirrored yet: %s", e)

    async def keep_fresh(self, quiet: Callable[[], Awaitable[None]] | None = None) -> None:
        """Read the routing data again every few seconds, and at once on a change; each time after
        `quiet()` (the Stasis app's: no call being looked up just then, ari_app/call_path.py)."""
        while True:
            self._changed.clear()
            if quiet is not None:
                await quiet()
            await self.refresh()
            try:
                await asyncio.wait_for(self._changed.wait(), self._refresh_seconds)
            except TimeoutError:
                pass
