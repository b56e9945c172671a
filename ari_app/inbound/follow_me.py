"""Follow me (issue 15, seed 002's "forwarding to personal numbers"): a manager whose desk
phone did not take the call is rung on the mobile, through the trunk and the dial rules,
as one more step of the chain ("mobile of Ivanova did not answer in 20 s → queue Sales: ...").
The desk's own step comes first, whatever it said (no answer, busy, unreachable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.call_states import Ringing
from ari_app.dialing import outside_phone, rule_params
from ari_app.ringing import Leg
from crm.calls import route
from crm.calls.route import Outcome
from crm.dialing.model import FollowMe
from crm.routing.decide import Target

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession


async def ring_mobile(session: "CallSession", target: Target, follow: FollowMe) -> Leg | None:
    """Ring the manager's mobile for the manager's ring time; the leg that answered, or None."""
    manager = target.manager
    assert manager is not None and target.ring_seconds is not None  # a manager target has both
    return await ring_outside(session, follow.mobile, name=manager.name, user_id=manager.user_id,
                              ring_seconds=target.ring_seconds, kind="mobile", code="mobile")


async def ring_outside(session: "CallSession", number: str, *, name: str, user_id: int | None, ring_seconds: int,
                       kind: str, code: str, **step: str) -> Leg | None:
    """Ring a number through the trunk and the dial rules for the call (a manager's mobile, a number a
    call is transferred to) and write the route step (`kind`, TARGETS `code`, more `step` params);
    the leg that answered, or None."""
    d = session.d
    phone, plan = outside_phone(number, name=name, user_id=user_id, dialing=d.crm.dialing(),
                                default_trunk=d.trunk, region=d.region)
    if not isinstance(session.state, Ringing):  # the desk phone was not rung (busy, unreachable), or a transfer
        await session._go(session.state.ring)
    session._note_first_dial()
    result = await d.ringer.ring(caller_channel=session.call.channel_id, caller_id=session._caller_id, phones=[phone],
                                 ring_seconds=ring_seconds, caller_gone=session.caller_gone,
                                 register=session._register_leg)
    if result.winner:
        outcome = Outcome("answered")
    elif session.caller_gone.is_set():
        outcome = Outcome("caller_gone_ringing")
    else:
        outcome = result.legs[0].outcome(ring_seconds)
    session._record_step(route.step(kind, code, outcome, name=name, number=number, **step, **rule_params(plan)))
    return result.winner
