"""Listen-in, whisper and barge, Stasis side (issue 18). Requests arrive by LISTEN/NOTIFY from the
web (crm/supervision/); the app rings the supervisor's phone (sup-<id>) and, when it answers,
joins it to the call as plan.py says: a snoop on the operator's channel (sup-<id>-snoop) in a
bridge of their own (sup-<id>), or the call's bridge for a barge.

It ends when the supervisor hangs up, the snoop ends (the operator's channel went: a hang-up,
a transfer) or the call ends: the app hangs up what is left of it (the phone, the snoop) and
destroys its bridge, so no channel is stranded. The call's row, legs and recording are the
call's: nothing here writes them; the channels' ids (crm/calls/channels.py SUPERVISION_PREFIX)
keep the CEL reconciler from taking them for calls. The end is audited beside the web's start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg

from ari_app.client import AriError
from ari_app.constants import snoop_channel_id, supervision_request_id, supervisor_channel_id
from ari_app.deps import SessionDeps
from ari_app.events import ChannelEntered
from ari_app.registry import caller_id_text
from ari_app.supervision.plan import Barge, Snoop, Talking, plan
from ari_app.waiting import first_of
from crm import audit
from crm.db import DATABASE_ERRORS
from crm.dialing.technology import default_dial
from crm.listen import claim_request, listen_for_requests
from crm.supervision import CHANNEL
from crm.supervision import queries as supervision_q
from crm.supervision.requests import AUDIT_END

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)

SUPERVISOR_RING_SECONDS = 30
# What the request's status says when the app could not take it up, or it ended badly.
NOT_TALKING = "the call is over, or nobody talks on it now"
NO_ANSWER = "the supervisor's phone did not answer"
APP_STOPPED = "the app that ran it stopped"


@dataclass
class Supervision:
    request: asyncpg.Record  # id, call_id, channel_id, supervisor_id, extension, mode, full_name
    answered: bool = False
    bridge: str | None = None  # its own bridge (listen, whisper)
    gone: asyncio.Event = field(default_factory=asyncio.Event)  # the phone or the snoop ended

    @property
    def id(self) -> int:
        return self.request["id"]

    @property
    def channel(self) -> str:
        return supervisor_channel_id(self.id)


def talking(session: "CallSession | None") -> Talking | None:
    """The call as plan.py reads it: None unless a conversation runs."""
    if session is None or session.conversation is None or not session.conversation.talking:
        return None
    partner = session.partner
    return Talking(session.direction, session.call.channel_id, partner.channel_id if partner else None,
                   session.conversation.bridge)


class SupervisionService:
    def __init__(self, deps: SessionDeps, pool: asyncpg.Pool, database_url: str,
                 dial_of: Callable[[str], str] = default_dial):
        self.d = deps
        self._pool = pool
        self._url = database_url
        self._dial_of = dial_of  # extension -> where its user's phone is rung
        self._active: dict[int, Supervision] = {}
        self._tasks: set[asyncio.Task] = set()

    async def listen(self) -> None:
        """Take requests as they are NOTIFYed, and those made while the app was away; those a stopped
        process ran are over (the resync hangs up their channels)."""
        try:
            async with self._pool.acquire(timeout=2) as conn:
                for row in await supervision_q.orphans(conn, list(self._active), APP_STOPPED):
                    await self._audit_end(conn, row)
        except DATABASE_ERRORS as e:
            log.warning("supervision: requests of a stopped app not ended (%s)", type(e).__name__)
        await listen_for_requests(self._url, CHANNEL, lambda request_id: self._spawn(self._take(request_id)),
                                  supervision_q.pending_ids)

    async def _take(self, request_id: int) -> None:
        row = await claim_request(self._pool, supervision_q.claim, request_id, "supervision")
        if row is None:
            return  # another app process took it, or it is too old
        session = self.d.registry.get(row["channel_id"])
        sup = self._active[request_id] = Supervision(row)
        if plan(row["mode"], talking(session)) is None:
            log.info("supervision %d: channel %s is not talking here", request_id, row["channel_id"])
            await self._end(sup, "failed", NOT_TALKING)
            return
        assert session is not None  # talking() says so
        log.info("supervision %d: ringing %s (%s) to %s channel %s number %s", request_id, row["full_name"],
                 row["extension"], row["mode"], row["channel_id"], session.call.caller_number)
        try:
            await self.d.media.originate_supervisor(
                request_id=request_id, endpoint=self._dial_of(row["extension"]),
                caller_id=caller_id_text(session.call.caller_name, session.call.caller_number),
                timeout=SUPERVISOR_RING_SECONDS)
        except AriError as e:
            await self._end(sup, "failed", f"the supervisor's phone could not be rung ({e.status})")

    # ---- from the ARI handlers ----

    async def answered(self, call: ChannelEntered) -> None:
        """The supervisor's phone picked up: it joins the call, until one of them ends."""
        sup = self._of(call)
        if sup is None:
            log.info("channel %s: a supervisor's phone answered for no request here; hanging up", call.channel_id)
            await self.d.media.hangup(call.channel_id)
            return
        sup.answered = True
        self._spawn(self._supervise(sup))

    async def snoop_entered(self, call: ChannelEntered) -> None:
        """The snoop on the operator's channel is in the app: into the supervisor's bridge."""
        sup = self._of(call)
        if sup is None or sup.bridge is None or sup.gone.is_set():
            await self.d.media.hangup(call.channel_id)
            return
        try:
            await self.d.media.add_channels(sup.bridge, [call.channel_id])
        except AriError as e:
            log.warning("supervision %d: snoop %s not bridged: %s", sup.id, call.channel_id, e)
            sup.gone.set()

    async def channel_gone(self, channel_id: str) -> None:
        request_id = supervision_request_id(channel_id)
        sup = self._active.get(request_id) if request_id is not None else None
        if sup is None:
            return
        if channel_id == sup.channel and not sup.answered:
            await self._end(sup, "failed", NO_ANSWER)
            return
        sup.gone.set()  # the phone hung up, or the snoop ended with the operator's channel

    # ---- the supervision ----

    async def _supervise(self, sup: Supervision) -> None:
        session = self.d.registry.get(sup.request["channel_id"])
        joins = plan(sup.request["mode"], talking(session))
        if joins is None or session is None:
            await self._end(sup, "failed", NOT_TALKING)
            return
        try:
            if isinstance(joins, Snoop):
                sup.bridge = await self.d.media.create_supervision_bridge(sup.id)
                await self.d.media.add_channels(sup.bridge, [sup.channel])
                await self.d.media.snoop(joins.channel, request_id=sup.id, spy=joins.spy, whisper=joins.whisper)
            elif isinstance(joins, Barge):
                await self.d.media.add_channels(joins.bridge, [sup.channel])
        except AriError as e:
            log.warning("supervision %d: could not join channel %s: %s", sup.id, sup.request["channel_id"], e)
            await self._end(sup, "failed", f"could not join the call ({e.status})")
            return
        log.info("supervision %d: %s joined channel %s number %s (%s)", sup.id, sup.request["full_name"],
                 sup.request["channel_id"], session.call.caller_number, sup.request["mode"])
        await self._save(sup.id, "joined", lambda conn: supervision_q.joined(conn, sup.id))
        await first_of(sup.gone.wait(), session.caller_gone.wait(), _conversation_over(session))
        await self._end(sup, "done")

    async def _end(self, sup: Supervision, status: str, error: str | None = None) -> None:
        """Once: hang up what is left of it, destroy its bridge, say how it went, audit its end."""
        if self._active.pop(sup.id, None) is None:
            return
        sup.gone.set()
        await self.d.media.hangup(sup.channel)
        if sup.bridge is not None:
            await self.d.media.hangup(snoop_channel_id(sup.id))
            await self.d.media.destroy_bridge(sup.bridge)
        log.info("supervision %d: %s%s", sup.id, status, f" ({error})" if error else "")
        try:
            async with self._pool.acquire(timeout=2) as conn:
                row = await supervision_q.finish(conn, sup.id, status, error=error)
                if row is not None:
                    await self._audit_end(conn, row)
        except DATABASE_ERRORS as e:
            log.warning("supervision %d: end not saved (%s)", sup.id, type(e).__name__)

    @staticmethod
    async def _audit_end(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        await audit.record(conn, row["supervisor_id"], "call", row["call_id"], AUDIT_END, {
            "supervision": row["mode"], "result": row["status"], "seconds": row["joined_seconds"],
            "request": row["id"]})

    async def close(self) -> None:
        """Stepping down: the supervisors' phones and snoops are hung up, their ends written."""
        for sup in list(self._active.values()):
            await self._end(sup, "failed" if not sup.answered else "done", None if sup.answered else NO_ANSWER)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def holds(self, channel_id: str) -> bool:
        """A supervision channel (phone or snoop) of a supervision this process runs."""
        request_id = supervision_request_id(channel_id)
        return request_id is not None and request_id in self._active

    def _of(self, call: ChannelEntered) -> Supervision | None:
        if len(call.args) < 2 or not call.args[1].isdigit():
            return None
        return self._active.get(int(call.args[1]))

    async def _save(self, request_id: int, status: str, what: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                await what(conn)
        except DATABASE_ERRORS as e:
            log.warning("supervision %d: status %s not saved (%s)", request_id, status, type(e).__name__)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _conversation_over(session: "CallSession") -> None:
    """The call's conversation ended (its bridge is destroyed with it)."""
    while session.conversation is not None and not session.conversation.finished:
        await asyncio.sleep(0.5)
