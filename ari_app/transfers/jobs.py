"""The transfers a conversation puts through (ari_app/transfers/conversation.py runs them, one at a
time, in the call's own task). The caller never leaves the call's bridge, so its one recording
covers the whole call.

Blind (a phone's REFER to an extension or number, or the web's Transfer): the transferer's phone
leaves the bridge, the caller hears music played to the bridge while the target rings - a user's
phone (and mobile, with follow me), a queue's members, or a number through the dial rules - then,
if nobody took it, the transferer's phone again, then the default queue (crm/transfers/decide.py),
then the offer of a call nobody answered (a callback, voicemail: ari_app/inbound/offer.py).

Attended (a REFER with Replaces naming the consultation call the transferer's phone placed): the
phone the transferer consulted is taken from that call into this call's bridge, in place of the
transferer's, at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ari_app.call_states import Transferring
from ari_app.client import AriError
from ari_app.constants import TRANSFER_ANSWERED, TRANSFER_DECLINED
from ari_app.inbound.follow_me import ring_outside
from ari_app.media import CallMedia
from ari_app.ringing import Leg
from crm.calls import route
from crm.calls.route import Outcome
from crm.routing.decide import ManagerRef, Target
from crm.transfers.decide import chain

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession
    from ari_app.transfers.conversation import Conversation

log = logging.getLogger(__name__)

# After the final NOTIFY a phone that asked for a transfer hangs up itself; after this the app does.
GRACE_SECONDS = 3.0
# How long a number a call is transferred to rings (as a placed call's: ari_app/outbound/session.py).
NUMBER_RING_SECONDS = 30


@dataclass(frozen=True)
class BlindTransfer:
    target: Target | None  # a user or a queue (crm/transfers/decide.py); None: `number`
    number: str | None
    by_name: str  # who transferred it: the phone's user, or whoever clicked Transfer
    by_user_id: int | None
    how: str  # "blind" (a phone's REFER) | "web"
    refer_channel: str | None = None  # the channel whose phone asked (REFER): told how it went

    @property
    def target_name(self) -> str:
        return self.target.name if self.target is not None else self.number or ""

    async def __call__(self, conv: "Conversation") -> bool:
        s, d = conv.s, conv.s.d
        old = s.partner
        if old is None:
            return True
        s.partner = None
        d.records.leg_ended(conv.caller)
        d.ringer.release(conv.caller, [old.phone])
        if self.refer_channel is not None:
            # Out of the bridge now; the phone hangs up itself once told the transfer is done.
            await d.media.quietly(conv.caller, d.media.remove_channel(conv.bridge, old.channel_id))
            await tell(d.media, self.refer_channel, TRANSFER_ANSWERED)
            conv.hang_up_later(old.channel_id, GRACE_SECONDS)
        else:
            await d.ringer.hangup(old.channel_id)
        s._pop(old.phone.user_id, "transferred", self.target_name)
        await s._go(s.state.transfer)
        policy = d.crm.policy()
        winner = None
        if self.number:
            winner = await ring_outside(s, self.number, name=self.number, user_id=None,
                                        ring_seconds=NUMBER_RING_SECONDS, kind="transfer", code="transfer_number",
                                        by=self.by_name)
            if winner is not None and await connect(conv, winner, how=self.how, by_user_id=self.by_user_id):
                return True
        transferer = _transferer(old)
        for target in chain(self.target, transferer=transferer, default_queue=policy.default_queue,
                            by=self.by_name, ring_seconds=policy.manager_ring_seconds):
            if s.caller_gone.is_set():
                return False
            if target.rings_a_phone:
                winner = await s._try_manager_then_mobile(target)
            else:
                winner = await s._try_queue(target)
            if winner is not None and await connect(conv, winner, how=self.how, by_user_id=self.by_user_id):
                return True
        if s.caller_gone.is_set():
            return False
        # Nobody took it, not even the default queue: the caller leaves the bridge for the offer (a
        # callback, voicemail) as any call nobody answered; the call's recording ends here.
        if isinstance(s.state, Transferring):
            await s.state.stop_holding()
        await d.media.quietly(conv.caller, d.media.remove_channel(conv.bridge, conv.caller))
        await s._offer()
        return False


@dataclass(frozen=True)
class AttendedTransfer:
    other: "CallSession"  # the consultation call, placed from the transferer's phone
    refer_channel: str  # the channel the REFER came on: the transferer's, in either call
    by_name: str
    by_user_id: int | None

    async def __call__(self, conv: "Conversation") -> bool:
        s, d = conv.s, conv.s.d
        old = s.partner
        new = self.other.conversation.give_away() if self.other.conversation is not None else None
        if old is None or new is None:
            await refuse(s, self.refer_channel, "consultation_unknown", by=self.by_name)
            return True
        conv.take(new)
        try:
            await d.media.add_channels(conv.bridge, [new.channel_id])  # out of the consultation's bridge
        except AriError as e:
            # The consulted phone hung up meanwhile: the transferer stays on the call.
            log.warning("channel %s: consulted phone %s not bridged: %s", conv.caller, new.channel_id, e)
            s.partner = old
            await refuse(s, self.refer_channel, "consultation_unknown", by=self.by_name)
            return True
        await d.media.quietly(conv.caller, d.media.remove_channel(conv.bridge, old.channel_id))
        d.records.leg_started(conv.caller, user_id=new.phone.user_id, name=new.phone.name,
                              number=new.phone.extension, how="attended", transferred_by=self.by_user_id)
        s._record_step(route.step("transfer", "transfer_attended", Outcome("connected"), name=new.phone.name,
                                  by=self.by_name))
        d.ringer.release(conv.caller, [old.phone])
        s._pop(old.phone.user_id, "transferred", new.phone.name)
        s._pop(new.phone.user_id, "answered")
        await tell(d.media, self.refer_channel, TRANSFER_ANSWERED)
        # The transferer's two channels: its leg in this call, and its consultation call's own.
        for channel in (old.channel_id, self.other.call.channel_id):
            if channel == self.refer_channel:
                conv.hang_up_later(channel, GRACE_SECONDS)
            else:
                await d.ringer.hangup(channel)
        return True


async def connect(conv: "Conversation", winner: Leg, *, how: str, by_user_id: int | None) -> bool:
    """The phone that took the transfer joins the caller; False when it hung up before it could."""
    s, d = conv.s, conv.s.d
    await s._go(s.state.connect)
    try:
        await d.media.add_channels(conv.bridge, [winner.channel_id])
    except AriError as e:
        log.warning("channel %s: %s not bridged after the transfer: %s", conv.caller, winner.phone.name, e)
        await d.ringer.hangup(winner.channel_id)
        d.ringer.release(conv.caller, [winner.phone])
        await s._go(s.state.transfer)
        return False
    s.partner = winner
    d.records.leg_started(conv.caller, user_id=winner.phone.user_id, name=winner.phone.name,
                          number=winner.phone.extension, how=how, transferred_by=by_user_id)
    s._pop(winner.phone.user_id, "answered")
    log.info("channel %s: transferred call talking to %s", conv.caller, winner.phone.name)
    return True


async def tell(media: CallMedia, refer_channel: str, state: str = TRANSFER_DECLINED) -> None:
    """How the transfer went, to the phone that asked for it (a NOTIFY with a SIP frag: 200, 603...)."""
    await media.quietly(refer_channel, media.transfer_progress(refer_channel, state))


async def refuse(s: "CallSession", refer_channel: str, code: str, *, by: str, number: str | None = None) -> None:
    """The phone is told the transfer failed (NOTIFY 603) and keeps its call; the route says why."""
    await tell(s.d.media, refer_channel)
    s._record_step(route.step("transfer", "transfer_refused", Outcome(code), number=number or "", by=by))
    log.info("channel %s: transfer by %s to %s refused: %s", s.call.channel_id, by, number, code)


def _transferer(leg: Leg) -> ManagerRef | None:
    """Whom a transfer nobody took goes back to: the user whose own phone talked before."""
    phone = leg.phone
    if phone.user_id is None or phone.dial is not None:
        return None
    return ManagerRef(phone.user_id, phone.name, phone.extension, True)
