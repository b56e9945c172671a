"""Calls placed from a user's phone: to another extension (internal) or out through the trunk.

The app logs them - outgoing calls on the card of the counterparty whose
number was dialled - records them by policy, dials, and bridges on answer.
"""

from __future__ import annotations

import logging

from ari_app.constants import endpoint
from ari_app.inbound.session import CallSession
from ari_app.registry import caller_id_text
from ari_app.ringing import Phone
from crm.calls import route
from crm.calls.route import Outcome
from crm.phones import caller_match_key

log = logging.getLogger(__name__)

RING_SECONDS = 60


class OutboundSession(CallSession):
    def __init__(self, call, deps, *, trunk: str, internal: bool, answered: bool = False):
        # Click-to-call: the user's phone picked up before the number is dialled (`answered`).
        super().__init__(call, deps, answered=answered)
        self.direction = "internal" if internal else "outgoing"
        self._trunk = trunk

    async def _route(self) -> None:
        c = self.call
        await self._quietly(self.d.media.watch(c.channel_id))
        user = await self.d.crm.user_by_extension(c.caller_number)
        self.caller_user_id = user["id"] if user else None
        facts = None
        if self.direction == "outgoing":
            facts, _ = await self.d.crm.lookup(caller_match_key(c.called_number, self.d.region))
            self._facts = facts
            callee = Phone(None, facts.display_name if facts else c.called_number, c.called_number,
                           dial=endpoint(c.called_number, self._trunk))
            name = facts.display_name if facts else None
        else:
            colleague = await self.d.crm.user_by_extension(c.called_number)
            callee = Phone(colleague["id"] if colleague else None,
                           colleague["full_name"] if colleague else c.called_number, c.called_number)
            name = colleague["full_name"] if colleague else None
        self._log_start(facts)
        self._caller_id = caller_id_text(user["full_name"] if user else c.caller_name, c.caller_number)
        await self._go(self.state.ring)
        self._note_first_dial()
        result = await self.d.ringer.ring(caller_channel=c.channel_id, caller_id=self._caller_id, phones=[callee],
                                          ring_seconds=RING_SECONDS, caller_gone=self.caller_gone,
                                          register=self._register_leg)
        target = route.target_code(self.direction, name=name)
        if result.winner:
            self._record_step(route.step(self.direction, target, Outcome("answered"), name=name,
                                         number=c.called_number))
            await self._talk(result.winner, None, operator_user_id=self.caller_user_id)
            return
        outcome = Outcome("caller_gone_while_ringing") if self.caller_gone.is_set() else \
            result.legs[0].outcome(RING_SECONDS)
        self._record_step(route.step(self.direction, target, outcome, name=name, number=c.called_number))
        await self.d.ringer.hangup(c.channel_id)
