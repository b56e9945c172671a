"""The StasisStart of a caller from the trunk ('inbound'): its session takes the call."""

from __future__ import annotations

import logging

from ari_app.calls import CallService
from ari_app.constants import DIALPLAN_FALLBACK
from ari_app.events import ChannelEntered

log = logging.getLogger(__name__)


class InboundHandlers:
    def __init__(self, calls: CallService):
        self._calls = calls

    async def on_entered(self, call: ChannelEntered) -> None:
        log.info("channel %s: %s call from %s to %s on %s", call.channel_id, call.purpose, call.caller_number,
                 call.called_number, call.line)
        # From the dialplan's default queue: it took the caller while the app was away (dialplan/pbxcrm.conf).
        self._calls.start_session(call, resumed=call.context == DIALPLAN_FALLBACK[0])
