"""What happens to a call that enters the Stasis app.

For now the app logs the call and hands it back to the dialplan, which takes
it to the default queue; routing decisions come in with the routing service.
"""

from __future__ import annotations

import logging
from functools import partial

from ari_app.call_log import CallLogWriter
from ari_app.client import AriClient, AriError, AriNotFound
from ari_app.events import ChannelEntered, parse_ari_time
from crm.calls import queries as calls_q
from crm.phones import caller_match_key

log = logging.getLogger(__name__)

DIRECTIONS = {"inbound": "incoming", "outbound": "outgoing", "internal": "internal"}


class CallService:
    def __init__(self, ari: AriClient, call_log: CallLogWriter, default_region: str):
        self._ari = ari
        self._log = call_log
        self._region = default_region

    async def on_stasis_start(self, event: dict) -> None:
        call = ChannelEntered.from_event(event)
        direction = DIRECTIONS.get(call.purpose)
        if direction is None:
            # Not a call the dialplan sent us as a CRM call (e.g. a channel we originated).
            log.info("channel %s: entered with args %s, not a CRM call", call.channel_id, call.args)
            return
        log.info("channel %s: %s call from %s to %s on %s", call.channel_id, direction,
                 call.caller_number, call.called_number, call.line)
        self._log.submit(call.channel_id, partial(
            calls_q.insert_call, channel_id=call.channel_id, direction=direction,
            caller_number=call.caller_number,
            caller_normalized=caller_match_key(call.caller_number, self._region),
            caller_name=call.caller_name, called_number=call.called_number,
            called_normalized=caller_match_key(call.called_number, self._region),
            line=call.line, started_at=call.started_at, linked_id=call.linked_id,
        ), "call start")
        try:
            # Stay subscribed after the channel leaves Stasis, to log its hangup.
            await self._ari.subscribe(f"channel:{call.channel_id}")
            await self._ari.continue_in_dialplan(call.channel_id)
        except AriNotFound:
            log.info("channel %s: hung up before it could continue", call.channel_id)
        except AriError as e:
            log.error("channel %s: could not hand back to the dialplan (%s); hanging up",
                      call.channel_id, e)
            await self._hangup_quietly(call.channel_id)

    async def on_channel_destroyed(self, event: dict) -> None:
        channel = event["channel"]
        channel_id = channel["id"]
        cause = event.get("cause")
        log.info("channel %s: ended, cause %s (%s), number %s", channel_id, cause,
                 event.get("cause_txt"), (channel.get("caller") or {}).get("number"))
        self._log.submit(channel_id, partial(
            calls_q.mark_ended, channel_id=channel_id, ended_at=parse_ari_time(event.get("timestamp")),
            hangup_cause=cause,
        ), "call end")

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except AriError as e:
            log.warning("channel %s: hangup failed: %s", channel_id, e)
