"""What a supervisor's phone joins, per mode: pure, tested without ARI.

- listen: a snoop on the operator's channel hearing both directions (the operator and, sent to
  the operator, the caller), whispering nothing: what the supervisor says goes nowhere;
- whisper: the same snoop, whispering out of the operator's channel, i.e. into what is sent to the
  operator's phone: the operator hears the supervisor, the caller (on the other side of the
  call's bridge) does not;
- barge: the supervisor's phone in the call's own bridge: everyone hears everyone.

The operator's channel is the phone talking for us: of an incoming call, the leg that answered
(the session's partner); of a call placed by a user, the caller's own channel (the user's phone).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.supervision import BARGE, LISTEN, WHISPER

# ARI's snoop directions (POST /channels/{id}/snoop spy=, whisper=).
BOTH, OUT, NONE = "both", "out", "none"


@dataclass(frozen=True)
class Talking:
    """The call as the app holds it now."""

    direction: str  # incoming, outgoing, internal
    caller_channel: str
    partner_channel: str | None  # the phone (or number) answered on the other side of the bridge
    bridge: str | None  # the call's bridge while a conversation runs


@dataclass(frozen=True)
class Snoop:
    channel: str  # whose audio the supervisor hears
    spy: str
    whisper: str


@dataclass(frozen=True)
class Barge:
    bridge: str


def operator_channel(call: Talking) -> str | None:
    """The channel of the phone talking on our side."""
    if call.direction == "incoming":
        return call.partner_channel
    return call.caller_channel if call.partner_channel is not None else None


def plan(mode: str, call: Talking | None) -> Snoop | Barge | None:
    """What the supervisor's answered phone joins; None: the call has nobody talking now."""
    if call is None or call.bridge is None:
        return None
    if mode == BARGE:
        return Barge(call.bridge)
    operator = operator_channel(call)
    if operator is None:
        return None
    if mode == LISTEN:
        return Snoop(operator, spy=BOTH, whisper=NONE)
    if mode == WHISPER:
        return Snoop(operator, spy=BOTH, whisper=OUT)
    raise ValueError(f"unknown supervision mode {mode!r}")
