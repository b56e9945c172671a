"""The talking part of a call: the caller and one phone after another in the call's bridge.

From the answer until the caller or the last phone hangs up (ari_app/inbound/session.py
`_talk` runs it), a Conversation keeps who talks on our side (the session's `partner`)
and writes each one's leg (crm/transfers/queries.py). Transfers come to it as jobs
(ari_app/transfers/jobs.py), run one after another in the conversation's own task:
they change the partner while the caller stays in the bridge. An attended transfer
takes the partner of another call's conversation (`give_away`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ari_app.ringing import Leg
from ari_app.waiting import first_of

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)


@dataclass
class Job:
    """A transfer to put through: `run(conversation)` says whether the call goes on (False: it was
    given up, the caller is being hung up). `done` tells whoever asked how it went."""

    what: str
    run: Callable[["Conversation"], Awaitable[bool]]
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Conversation:
    def __init__(self, session: "CallSession", bridge: str, operator_user_id: int | None):
        self.s = session
        self.bridge = bridge
        self.operator_user_id = operator_user_id  # who talks on our side at first (a placed call's: its user)
        self.finished = False
        self._jobs: list[Job] = []
        self._wake = asyncio.Event()
        self._later: dict[asyncio.Task, str] = {}  # hang-ups waiting: their channels

    @property
    def caller(self) -> str:
        return self.s.call.channel_id

    async def run(self) -> None:
        """Until the caller hangs up, the phone talking hangs up, or the partner is given away."""
        s = self.s
        first = s.partner
        if first is None:  # given to another call (an attended transfer) before this one began
            self.finished = True
            return
        user = self.operator_user_id
        name = first.phone.name if user == first.phone.user_id else s.call.caller_name or s.call.caller_number
        s.d.records.leg_started(self.caller, user_id=user, name=name, number=first.phone.extension)
        try:
            while True:
                partner = s.partner
                if partner is None or s.caller_gone.is_set():
                    return
                if not self._jobs:
                    await first_of(s.caller_gone.wait(), partner.gone.wait(), self._wake.wait())
                    self._wake.clear()
                if s.caller_gone.is_set() or s.partner is None:
                    return
                if self._jobs:
                    job = self._jobs.pop(0)
                    goes_on = await self._run(job)
                    if not goes_on:
                        return
                    continue
                if partner.gone.is_set():
                    return
        finally:
            self.finished = True
            s.d.records.leg_ended(self.caller)
            for job in self._jobs:
                if not job.done.done():
                    job.done.set_result("the call ended first")
            for task, channel_id in list(self._later.items()):  # the call is over: no need to wait
                task.cancel()
                await s.d.ringer.hangup(channel_id)

    def submit(self, job: Job) -> bool:
        """Queue a transfer; False when the conversation is over."""
        if self.finished:
            return False
        self._jobs.append(job)
        self._wake.set()
        return True

    @property
    def talking(self) -> bool:
        return not self.finished and self.s.partner is not None

    def give_away(self) -> Leg | None:
        """The phone talking here goes to another call (an attended transfer): this conversation ends
        when its caller (the transferer's consultation channel) is hung up. None: nobody talks here."""
        leg = self.s.partner
        if leg is None or self.finished:
            return None
        self.s.partner = None
        self.s.legs.pop(leg.channel_id, None)
        return leg

    async def _run(self, job: Job) -> bool:
        log.info("channel %s: %s", self.caller, job.what)
        try:
            goes_on = await job.run(self)
        except Exception as e:
            if not job.done.done():
                job.done.set_exception(e)
            raise
        if not job.done.done():
            job.done.set_result(None)
        return goes_on

    def hang_up_later(self, channel_id: str, seconds: float) -> None:
        """Hang a channel up after a while (one already gone is no error), whatever the call does meanwhile."""
        async def later() -> None:
            await asyncio.sleep(seconds)
            await self.s.d.ringer.hangup(channel_id)

        task = asyncio.create_task(later(), name=f"hang up {channel_id}")
        self._later[task] = channel_id
        task.add_done_callback(lambda t: self._later.pop(t, None))

    def take(self, leg: Leg) -> None:
        """A leg from another call is this call's partner now."""
        s = self.s
        s.legs[leg.channel_id] = leg
        s.d.registry.add(leg.channel_id, s)
        s.d.ringer.take_over(self.caller, leg)
        s.partner = leg

