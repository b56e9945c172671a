"""The StasisStart of a call placed from a user's phone ('outbound' or 'internal')."""

from __future__ import annotations

import logging

from ari_app.calls import CallService
from ari_app.constants import PURPOSE_INTERNAL
from ari_app.events import ChannelEntered
from ari_app.outbound.session import OutboundSession

log = logging.getLogger(__name__)


def session_factory(trunk: str):
    """The session of a placed call: (call, deps, resumed=, answered=) -> OutboundSession."""
    def make(call: ChannelEntered, deps, *, resumed: bool = False, answered: bool = False) -> OutboundSession:
        return OutboundSession(call, deps, trunk=trunk, internal=call.purpose == PURPOSE_INTERNAL, answered=answered)
    return make


class OutboundHandlers:
    def __init__(self, calls: CallService):
        self._calls = calls

    async def on_entered(self, call: ChannelEntered) -> None:
        log.info("channel %s: %s call from %s to %s on %s", call.channel_id, call.purpose, call.caller_number,
                 call.called_number, call.line)
        self._calls.start_session(call)


