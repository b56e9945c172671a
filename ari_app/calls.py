"""The ARI call events (StasisStart, StasisEnd, ChannelDestroyed, and the caller's keys,
prompts' ends and voicemails' ends): parsed here and handed on.

A channel's purpose (its first Stasis argument) names the feature whose thin
handler takes its StasisStart (inbound/, outbound/, clicktocall/ - wired in
ari_app/wiring.py); a phone we rang ('dialed') goes straight to the ringer, which
resolves its answer where the ringing is. What a call does lives in the feature's
session; this also keeps the sessions' tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ari_app.call_states import HandedOff
from ari_app.constants import OUR_PREFIX, PURPOSE_DIALED, channel_of_target
from ari_app.deps import SessionDeps
from ari_app.events import ChannelEntered, parse_ari_time

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)

# (call, deps, resumed=, answered=) -> the feature's session (inbound or outbound)
SessionFactory = Callable[..., "CallSession"]
EnteredHandler = Callable[[ChannelEntered], Awaitable[None]]


class CallService:
    def __init__(self, deps: SessionDeps, *, sessions: dict[str, SessionFactory]):
        self.d = deps
        self._sessions = sessions  # purpose -> the feature's session class
        self._entered: dict[str, EnteredHandler] = {PURPOSE_DIALED: self._leg_answered}
        self._channel_gone: dict[str, Callable[[str], Awaitable[None]]] = {}
        self._tasks: set[asyncio.Task] = set()

    def on_entered(self, purpose: str, handler: EnteredHandler) -> None:
        """A feature's handler for the StasisStart of channels with this purpose."""
        self._entered[purpose] = handler

    def on_gone(self, prefix: str, handler: Callable[[str], Awaitable[None]]) -> None:
        """A feature's handler for the end of channels whose id starts with `prefix`."""
        self._channel_gone[prefix] = handler

    def start_session(self, call: ChannelEntered, *, resumed: bool = False, answered: bool = False) -> "CallSession":
        existing = self.d.registry.get(call.channel_id)
        if existing is not None:
            # StasisStart and a resync can both bring the same channel: one session only.
            return existing
        session = self._sessions[call.purpose](call, self.d, resumed=resumed, answered=answered)
        # Register now, so the caller's other events find the session before its task runs.
        self.d.registry.add(call.channel_id, session)
        task = asyncio.create_task(session.run(), name=f"call {call.channel_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return session

    async def on_stasis_start(self, event: dict) -> None:
        call = ChannelEntered.from_event(event)
        handler = self._entered.get(call.purpose)
        if handler is None:
            log.info("channel %s: entered with args %s, not ours to route", call.channel_id, call.args)
            return
        await handler(call)

    async def _leg_answered(self, call: ChannelEntered) -> None:
        # A phone we rang picked up: resolved by the ringer, where the ringing is.
        if not self.d.ringer.answered(call.channel_id):
            log.info("channel %s: answered too late, hanging up", call.channel_id)
            await self.d.media.hangup(call.channel_id)

    async def on_channel_destroyed(self, event: dict) -> None:
        channel = event["channel"]
        channel_id, cause = channel["id"], event.get("cause")
        if channel_id.startswith(OUR_PREFIX):
            self.d.ringer.leg_gone(channel_id, cause)  # a phone we rang: no call row of its own
            return
        session = self.d.registry.get(channel_id)
        if session is not None:
            session.channel_gone(channel_id, cause)
        for prefix, handler in self._channel_gone.items():
            if channel_id.startswith(prefix):
                await handler(channel_id)
        log.info("channel %s: ended, cause %s (%s), number %s", channel_id, cause, event.get("cause_txt"),
                 (channel.get("caller") or {}).get("number"))
        self.d.records.ended(channel_id, ended_at=parse_ari_time(event.get("timestamp")), cause=cause)
        if session is None or not session.state.settles_missed:  # a voicemail being recorded decides later
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

    async def on_dtmf(self, event: dict) -> None:
        """A key the caller pressed goes to its call's keypad (a phone's keys are not the caller's)."""
        channel_id = event["channel"]["id"]
        session = self.d.registry.get(channel_id)
        if session is not None and session.call.channel_id == channel_id:
            session.keypad.pressed(event["digit"])

    async def on_playback_finished(self, event: dict) -> None:
        playback = event["playback"]
        channel_id = channel_of_target(playback.get("target_uri", ""))
        session = self.d.registry.get(channel_id) if channel_id else None
        if session is not None:
            session.keypad.playback_finished(playback["id"])

    async def on_recording_ended(self, event: dict) -> None:
        """RecordingFinished or RecordingFailed: a voicemail's end (a conversation's is not waited for)."""
        if self.d.voicemail is not None:
            self.d.voicemail.recording_ended(event["recording"])

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


