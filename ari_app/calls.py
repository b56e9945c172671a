"""ARI event handlers for calls: parse the event, hand it to the call's session.

The handlers stay thin; what a call does lives in ari_app.session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from ari_app.clicktocall import ClickToCall
from ari_app.constants import (CLICK_TO_CALL_PREFIX, OUR_PREFIX, PLACED_PURPOSES, PURPOSE_CLICK_TO_CALL, PURPOSE_DIALED,
                               PURPOSE_INTERNAL, PURPOSE_OUTBOUND, ROUTED_PURPOSES)
from ari_app.events import ChannelEntered, parse_ari_time
from ari_app.outbound import OutboundSession
from ari_app.call_states import HandedOff
from ari_app.session import CallSession, SessionDeps

log = logging.getLogger(__name__)


class CallService:
    def __init__(self, deps: SessionDeps, *, trunk: str = "trunk", click_to_call: ClickToCall | None = None):
        self.d = deps
        self._trunk = trunk
        self.click_to_call = click_to_call
        self._tasks: set[asyncio.Task] = set()

    def start_session(self, call: ChannelEntered, *, resumed: bool = False, answered: bool = False) -> CallSession:
        existing = self.d.registry.get(call.channel_id)
        if existing is not None:
            # StasisStart and a resync can both bring the same channel: one session only.
            return existing
        if call.purpose in PLACED_PURPOSES:
            session = OutboundSession(call, self.d, trunk=self._trunk, internal=call.purpose == PURPOSE_INTERNAL,
                                      answered=answered)
        else:
            session = CallSession(call, self.d, resumed=resumed)
        # Register now, so the caller's other events find the session before its task runs.
        self.d.registry.add(call.channel_id, session)
        task = asyncio.create_task(session.run(), name=f"call {call.channel_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return session

    async def on_stasis_start(self, event: dict) -> None:
        call = ChannelEntered.from_event(event)
        if call.purpose in ROUTED_PURPOSES:
            log.info("channel %s: %s call from %s to %s on %s", call.channel_id, call.purpose, call.caller_number,
                     call.called_number, call.line)
            self.start_session(call)
        elif call.purpose == PURPOSE_CLICK_TO_CALL:
            placed = self.click_to_call.answered(call) if self.click_to_call else None
            if placed is None:
                log.info("channel %s: click-to-call answered for an unknown request; hanging up", call.channel_id)
                await self._hangup(call.channel_id)
            else:
                self.start_session(dataclasses.replace(placed, args=(PURPOSE_OUTBOUND, placed.called_number)), answered=True)
        elif call.purpose == PURPOSE_DIALED:
            # A phone we rang picked up: resolved by the ringer, where the ringing is.
            if not self.d.ringer.answered(call.channel_id):
                log.info("channel %s: answered too late, hanging up", call.channel_id)
                await self._hangup(call.channel_id)
        else:
            log.info("channel %s: entered with args %s, not ours to route", call.channel_id, call.args)

    async def on_channel_destroyed(self, event: dict) -> None:
        channel = event["channel"]
        channel_id, cause = channel["id"], event.get("cause")
        if channel_id.startswith(OUR_PREFIX):
            self.d.ringer.leg_gone(channel_id, cause)  # a phone we rang: no call row of its own
            return
        session = self.d.registry.get(channel_id)
        if session is not None:
            session.channel_gone(channel_id, cause)
        if channel_id.startswith(CLICK_TO_CALL_PREFIX) and self.click_to_call:
            await self.click_to_call.channel_gone(channel_id)
        log.info("channel %s: ended, cause %s (%s), number %s", channel_id, cause, event.get("cause_txt"),
                 (channel.get("caller") or {}).get("number"))
        self.d.records.ended(channel_id, ended_at=parse_ari_time(event.get("timestamp")), cause=cause)
        self.d.records.missed(channel_id)

    async def on_stasis_end(self, event: dict) -> None:
        # Leaving Stasis is the first sign of a hangup; ChannelDestroyed brings the cause.
        # A caller we handed to the dialplan leaves too, but its session is over by then.
        channel_id = event["channel"]["id"]
        if channel_id.startswith(OUR_PREFIX):
            self.d.ringer.leg_gone(channel_id, None)
            return
        session = self.d.registry.get(channel_id)
        if session is not None and not isinstance(session.state, HandedOff):
            session.channel_gone(channel_id, None)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _hangup(self, channel_id: str) -> None:
        await self.d.media.hangup(channel_id)
