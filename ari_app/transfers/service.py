"""Transfers, Stasis side: which call a transfer is for, whether it can be done, and what to do -
handed to the call's conversation as a job (ari_app/transfers/jobs.py).

From a desk phone (ChannelTransfer, ari_app/transfers/handlers.py):
- blind: the REFER came on the phone's leg of an incoming call; its user part is a user's
  extension or a number (crm/transfers/decide.py);
- attended: the REFER names (Replaces) the consultation call the same phone placed; it may come on
  either of the phone's two channels. Still ringing there, it is put through as a blind transfer
  to the number the phone dialled.
A call placed by a user is not transferred (its record lives on the placing phone's channel):
the phone is told no (NOTIFY 603) and keeps its call; the route says why.

From the web (transfer_requests, LISTEN crm.transfers.CHANNEL, as click-to-call does): the
operator's leg is hung up and the call goes to the user, queue or number asked for.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import asyncpg

from ari_app.deps import SessionDeps
from ari_app.transfers.conversation import Job
from ari_app.transfers.events import ReferRequest
from ari_app.transfers.jobs import AttendedTransfer, BlindTransfer, refuse, tell
from crm.db import DATABASE_ERRORS
from crm.listen import claim_request, listen_for_requests
from crm.routing.decide import Target
from crm.transfers import CHANNEL
from crm.transfers import queries as transfers_q
from crm.transfers.decide import destination_of, queue_target, user_target

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)

# What the web's requester reads when the app could not take the transfer up.
NOT_TALKING = "the call is over, or nobody talks on it now"


class TransferService:
    def __init__(self, deps: SessionDeps, pool: asyncpg.Pool, database_url: str):
        self.d = deps
        self._pool = pool
        self._url = database_url
        self._tasks: set[asyncio.Task] = set()

    # ---- from the phones ----

    async def refer(self, r: ReferRequest) -> None:
        s = self.d.registry.get(r.source)
        if s is None:
            log.info("channel %s: transfer asked on no call of ours; refused", r.source)
            await tell(self.d.media, r.source)  # no call to say it on: only no
            return
        by, by_user_id = self._transferer(s, r.source)
        if r.attended:
            await self._attended(s, r, by, by_user_id)
        elif _keeps(s, r.source):
            await self._blind(s, r, by, by_user_id)
        elif s.direction != "incoming":
            await refuse(s, r.source, "placed_call", by=by, number=r.destination)
        else:  # an incoming call's caller, or a phone not talking on it (yet, or any more)
            log.info("channel %s: transfer asked by no phone talking on the call; refused", r.source)
            await tell(self.d.media, r.source)  # the phone hears no

    async def _blind(self, s: "CallSession", r: ReferRequest, by: str, by_user_id: int | None) -> None:
        target, number = await self._destination(r.destination)
        if target is None and number is None:
            await refuse(s, r.source, "no_such_target", by=by, number=r.destination)
            return
        if self._submit(s, f"blind transfer by {by} to {r.destination}",
                        BlindTransfer(target, number, by, by_user_id, "blind", refer_channel=r.source)) is None:
            await tell(self.d.media, r.source)  # the call ended meanwhile: the phone hears no

    async def _attended(self, s: "CallSession", r: ReferRequest, by: str, by_user_id: int | None) -> None:
        other = self.d.registry.get(r.consultation) if r.consultation else None
        if other is not None and _keeps(s, r.source) and _consults(other, r.consultation):
            keep, consultation = s, other
        elif other is not None and _keeps(other, r.consultation) and _consults(s, r.source):
            keep, consultation = other, s
        else:
            # The consultation is not this Asterisk's or not a call the same phone placed; or neither
            # call keeps a caller (both placed by users).
            keeps = _keeps(s, r.source) or _keeps(other, r.consultation)
            await refuse(s, r.source, "consultation_unknown" if keeps else "placed_call", by=by, number=r.destination)
            return
        assert keep.partner is not None  # _keeps says it talks
        by, by_user_id = self._transferer(keep, keep.partner.channel_id)  # its leg there: its user's name
        if consultation.partner is None:
            # The consulted phone still rings: put through as a blind transfer to what was dialled.
            log.info("channel %s: consultation %s not answered yet; blind transfer to %s", keep.call.channel_id,
                     consultation.call.channel_id, r.destination)
            await self.d.ringer.hangup(consultation.call.channel_id)
            await self._blind(keep, r, by, by_user_id)
            return
        if self._submit(keep, f"attended transfer by {by} to {consultation.partner.phone.name}",
                        AttendedTransfer(consultation, r.source, by, by_user_id)) is None:
            await tell(self.d.media, r.source)  # the call ended meanwhile: the phone hears no

    async def _destination(self, destination: str) -> tuple[Target | None, str | None]:
        """The user whose extension a phone dialled, or the number; (None, None): nothing we ring."""
        dest = destination_of(destination)
        if dest is None:
            return None, None
        if dest.kind == "number":
            return None, dest.value
        user = await self.d.crm.user_by_extension(dest.value)
        if user is None:
            return None, None
        ring = self.d.crm.policy().manager_ring_seconds
        return user_target(user["id"], user["full_name"], user["extension"], ring), None

    @staticmethod
    def _transferer(s: "CallSession", channel_id: str) -> tuple[str, int | None]:
        """Who asks: the user of the phone whose leg it is, or of the phone that placed the call."""
        if s.partner is not None and s.partner.channel_id == channel_id:
            return s.partner.phone.name, s.partner.phone.user_id
        return s.caller_user_name or s.call.caller_name or s.call.caller_number, s.caller_user_id

    # ---- from the web ----

    async def listen(self) -> None:
        """Take requests as they are NOTIFYed, and those made while the app was away."""
        await listen_for_requests(self._url, CHANNEL, lambda request_id: self._spawn(self._take(request_id)),
                                  transfers_q.pending_ids)

    async def _take(self, request_id: int) -> None:
        row = await claim_request(self._pool, transfers_q.claim, request_id, "transfer")
        if row is None:
            return  # another app process took it, or it is too old
        s = self.d.registry.get(row["channel_id"])
        job = None
        if s is not None and _keeps(s, s.partner.channel_id if s.partner else None) and s.conversation is not None:
            target, number = self._web_target(row)
            job = self._submit(s, f"web transfer by {row['requested_by_name']} to {target.name if target else number}",
                               BlindTransfer(target, number, row["requested_by_name"], row["requested_by"], "web"))
        if job is None:
            log.info("transfer request %d: channel %s is not talking here", request_id, row["channel_id"])
            await self._status(request_id, "failed", NOT_TALKING)
            if s is not None:
                s._pop(row["requested_by"], "transfer_failed", NOT_TALKING)
            return
        try:
            await job.done
        except Exception as e:  # the conversation hands the call to the dialplan: the request failed
            await self._status(request_id, "failed", str(e) or type(e).__name__)
            return
        await self._status(request_id, "done")

    def _web_target(self, row: asyncpg.Record) -> tuple[Target | None, str | None]:
        if row["target_kind"] == "user":
            ring = self.d.crm.policy().manager_ring_seconds
            return user_target(row["target_user_id"], row["user_name"], row["user_extension"], ring), None
        if row["target_kind"] == "queue":
            return queue_target(row["target_queue_id"], row["queue_name"]), None
        return None, row["target_number"]

    async def _status(self, request_id: int, status: str, error: str | None = None) -> None:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                await transfers_q.set_status(conn, request_id, status, error=error)
        except DATABASE_ERRORS as e:
            log.warning("transfer request %d: status %s not saved (%s)", request_id, status, type(e).__name__)

    # ---- both ----

    def _submit(self, s: "CallSession", what: str, run) -> Job | None:
        job = Job(what, run)
        assert s.conversation is not None  # the callers check it talks
        return job if s.conversation.submit(job) else None

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _keeps(s: "CallSession | None", channel_id: str | None) -> bool:
    """The call stays, with its caller, when this channel (the transferer's) leaves: an incoming call
    whose talking phone it is."""
    return (s is not None and s.direction == "incoming" and s.partner is not None and channel_id is not None
            and s.partner.channel_id == channel_id and s.conversation is not None and s.conversation.talking)


def _consults(s: "CallSession", channel_id: str | None) -> bool:
    """A consultation call: one the transferer's phone placed (its own channel is the call's),
    talking or still ringing."""
    return s.direction in ("internal", "outgoing") and s.call.channel_id == channel_id

