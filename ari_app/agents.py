"""Agent presence in the Stasis app (issue 18): the desk phone's feature codes, and wrap-up.

Feature codes: a phone dials *72 (log in to its queues), *73 (log out), *74 (pause; *74N with
the Nth pause reason of the admin's list), *75 (resume), *76 (end the wrap-up early); the
dialplan (dialplan/pbxcrm.conf, [pbxcrm-phones]) sends them here as Stasis(pbxcrm,agent,<code>).
The change is stored like the web's (crm/agents/queries.py: agent_events, NOTIFY) and the phone
hears a confirmation: agent-loginok, agent-loggedoff, a beep for pause, resume and the end of a
wrap-up; beeperr when it could not be done.

Wrap-up: when an agent's queue call ends, it is not rung for the queue's wrap-up seconds:
kept in memory at once (crm/routing/view.py note_wrapup) and stored (agent_states, events). The
agent may end it early (*76, the web's header): the NOTIFY of that makes every process forget its
note (crm/routing/view.py agent_changed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import asyncpg

from ari_app.caller_language import caller_language
from ari_app.client import AriError
from ari_app.events import ChannelEntered
from ari_app.media import CallMedia
from crm.agents import queries as agents_q
from crm.agents.state import feature_code, pause_reason_by_number
from crm.db import DATABASE_ERRORS
from crm.errors import DomainError, NotFound
from crm.queues.model import QueueSettings
from crm.routing.view import CrmView

log = logging.getLogger(__name__)

SOUNDS = {"login": "agent-loginok", "logout": "agent-loggedoff", "pause": "beep", "resume": "beep",
          "end_wrapup": "beep"}
FAILED_SOUND = "beeperr"
# How long each confirmation plays before the app hangs up (Asterisk's core sounds).
SOUND_SECONDS = {"agent-loginok": 1.5, "agent-loggedoff": 1.8, "beep": 0.6, "beeperr": 1.0}
DEFAULT_SOUND_SECONDS = 1.0
# A feature code waits this long for the database before it says it failed.
DATABASE_SECONDS = 3.0
_NOT_STORED: tuple[type[BaseException], ...] = (TimeoutError, *DATABASE_ERRORS)


class AgentService:
    def __init__(self, pool: asyncpg.Pool, crm: CrmView, media: CallMedia, wake: Callable[[], None]):
        self._pool = pool
        self._crm = crm
        self._media = media
        self._wake = wake  # waiting callers look for a free agent again
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- wrap-up ----

    def after_queue_call(self, user_id: int | None, queue: QueueSettings | None) -> None:
        """The agent's call from this queue ended: not rung for the queue's wrap-up seconds (if any)."""
        if user_id is None or queue is None or queue.wrapup_seconds <= 0:
            return
        queue_id, seconds = queue.id, queue.wrapup_seconds
        until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
        self._crm.note_wrapup(user_id, until)
        log.info("agent %s: wrap-up for %d s", user_id, seconds)
        self._spawn(self._store_wrapup(user_id, queue_id, until), name=f"wrap-up {user_id}")

    async def _store_wrapup(self, user_id: int, queue_id: int | None, until: dt.datetime) -> None:
        try:
            async with self._pool.acquire(timeout=DATABASE_SECONDS) as conn:
                await agents_q.start_wrapup(conn, user_id, queue_id, until)
        except DATABASE_ERRORS as e:
            log.warning("agent %s: wrap-up not stored (%s)", user_id, type(e).__name__)
        await asyncio.sleep(max(0.0, (until - dt.datetime.now(dt.timezone.utc)).total_seconds()))
        self._wake()
        try:
            async with self._pool.acquire(timeout=DATABASE_SECONDS) as conn:
                await agents_q.end_wrapup(conn, user_id, queue_id, until)
        except DATABASE_ERRORS as e:
            log.warning("agent %s: end of wrap-up not stored (%s)", user_id, type(e).__name__)

    # ---- feature codes ----

    async def on_entered(self, call: ChannelEntered) -> None:
        """A phone dialled a feature code: handled in a task of its own (it plays and waits)."""
        self._spawn(self._feature_code(call), name=f"feature code {call.channel_id}")

    async def _feature_code(self, call: ChannelEntered) -> None:
        language = caller_language(call.language, self._crm.centre_language())
        try:
            await self._media.answer(call.channel_id)
            sound = await self._change(call)
            await self._media.play(call.channel_id, f"sound:{sound}", language)
            await asyncio.sleep(SOUND_SECONDS.get(sound, DEFAULT_SOUND_SECONDS))
        except AriError as e:  # most often: the phone hung up first
            log.info("channel %s: feature code %s not confirmed: %s", call.channel_id, call.called_number, e)
        await self._media.hangup(call.channel_id)

    async def _change(self, call: ChannelEntered) -> str:
        """The change the code asks for, stored; the sound that says how it went."""
        code = feature_code(call.called_number)
        user = await self._crm.user_by_extension(call.caller_number)
        if code is None or user is None:
            log.info("channel %s: feature code %s from %s: %s", call.channel_id, call.called_number,
                     call.caller_number, "no such code" if code is None else "not a user's phone")
            return FAILED_SOUND
        action, number = code
        try:
            async with asyncio.timeout(DATABASE_SECONDS), self._pool.acquire() as conn:
                reason_id = None
                if number is not None:
                    reason_id = pause_reason_by_number(await agents_q.reason_ids(conn), number)
                    if reason_id is None:
                        raise NotFound(f"no pause reason {number}")
                await agents_q.change(conn, user["id"], action, source="phone", reason_id=reason_id)
        except DomainError as e:
            log.info("channel %s: %s by %s not done: %s", call.channel_id, action, call.caller_number, e)
            return FAILED_SOUND
        except _NOT_STORED as e:
            log.warning("channel %s: %s by %s not stored (%s)", call.channel_id, action, call.caller_number,
                        type(e).__name__)
            return FAILED_SOUND
        log.info("channel %s: agent %s (%s): %s by phone", call.channel_id, user["id"], call.caller_number, action)
        self._crm.changed()  # read the new state now (its NOTIFY does too); waiting callers look again then
        return SOUNDS[action]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
