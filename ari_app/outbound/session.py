"""Calls placed from a user's phone: to another extension (internal) or out through the trunk.

The app logs them - outgoing calls on the card of the counterparty whose
number was dialled - records them by policy, dials, and bridges on answer.
Internal or outgoing is the app's to say (issue 15: extensions of 2 to 6 digits): a
number that is a user's extension is internal, whatever the dialplan guessed; so is
one the dialplan found a phone for (purpose 'internal'); any other goes out through
the dial rules (crm/dialing/rules.py) and their trunk.
"""

from __future__ import annotations

import logging
import re

from ari_app.constants import order_of_args, shop_order_of_args
from ari_app.dialing import outside_phone, rule_params
from ari_app.inbound.session import CallSession
from ari_app.registry import caller_id_text
from ari_app.ringing import Phone
from crm.calls import route
from crm.calls.route import Outcome
from crm.phones import caller_match_key

log = logging.getLogger(__name__)

RING_SECONDS = 60
EXTENSION = re.compile(r"^[0-9]{2,6}$")  # as crm/users/accounts.py checks a user's


class OutboundSession(CallSession):
    def __init__(self, call, deps, *, trunk: str, internal: bool, answered: bool = False):
        # Click-to-call: the user's phone picked up before the number is dialled (`answered`).
        super().__init__(call, deps, answered=answered)
        # The dialplan's guess (it found a phone for the number); _route says for sure.
        self.direction = "internal" if internal else "outgoing"
        self._trunk = trunk

    async def _route(self) -> None:
        c = self.call
        await self._quietly(self.d.media.watch(c.channel_id))
        if c.line.startswith("PJSIP/"):
            # A transfer this phone asks for comes to the app: a consultation's REFER (ari_app/transfers/).
            await self._quietly(self.d.media.hand_transfers_to_app(c.channel_id))
        user = await self.d.crm.user_by_extension(c.caller_number)
        self.caller_user_id = user["id"] if user else None
        self.caller_user_name = user["full_name"] if user else None
        facts = None
        colleague = await self.d.crm.user_by_extension(c.called_number) if EXTENSION.match(c.called_number) else None
        if colleague is not None:
            self.direction = "internal"
        extra: dict = {}
        if self.direction == "outgoing":
            facts, _ = await self.d.crm.lookup(caller_match_key(c.called_number, self.d.region))
            self._facts = facts
            name = facts.display_name if facts else None
            callee, plan = outside_phone(c.called_number, name=name or c.called_number, dialing=self.d.crm.dialing(),
                                         default_trunk=self._trunk, region=self.d.region)
            extra = rule_params(plan)
        else:
            callee = Phone(colleague["id"] if colleague else None,
                           colleague["full_name"] if colleague else c.called_number, c.called_number)
            name = colleague["full_name"] if colleague else None
        self._log_start(facts)
        order_id = order_of_args(c.args)
        if order_id is not None:
            self.d.records.for_order(c.channel_id, order_id)
        shop_order_id = shop_order_of_args(c.args)
        if shop_order_id is not None:
            self.d.records.for_shop_order(c.channel_id, shop_order_id)
        self._caller_id = caller_id_text(user["full_name"] if user else c.caller_name, c.caller_number)
        await self._go(self.state.ring)
        self._note_first_dial()
        result = await self.d.ringer.ring(caller_channel=c.channel_id, caller_id=self._caller_id, phones=[callee],
                                          ring_seconds=RING_SECONDS, caller_gone=self.caller_gone,
                                          register=self._register_leg)
        target = route.target_code(self.direction, name=name)
        if result.winner:
            self._record_step(route.step(self.direction, target, Outcome("answered"), name=name,
                                         number=c.called_number, **extra))
            await self._talk(result.winner, None, operator_user_id=self.caller_user_id)
            return
        outcome = Outcome("caller_gone_while_ringing") if self.caller_gone.is_set() else \
            result.legs[0].outcome(RING_SECONDS)
        self._record_step(route.step(self.direction, target, outcome, name=name, number=c.called_number, **extra))
        await self.d.ringer.hangup(c.channel_id)
