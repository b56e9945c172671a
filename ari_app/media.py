"""The ARI media and bridge operations of a call, behind one adapter.

The call flow (sessions, the ringer, the recorder, resync) asks for what it
wants done to a channel or bridge - answer, ring back, music on hold, a bridge,
a recording, a phone rung - and this turns it into ARI requests (ari_app/client.py).
Ids and app args come from ari_app/constants.py. Errors are AriError as the
client raises them; the `*_quietly` variants log and say whether it worked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from ari_app.client import AriClient, AriError
from ari_app.constants import (
    DIALPLAN_FALLBACK,
    TRANSFERS_TO_APP,
    bridge_id,
    bridge_name,
    channel_source,
    click_to_call_args,
    click_to_call_channel_id,
    dialed_args,
    recording_name,
    snoop_args,
    snoop_channel_id,
    supervision_bridge_id,
    supervisor_args,
    supervisor_channel_id,
    voicemail_recording_name,
)
from crm.dialing.technology import AUTO_ANSWER_HEADER_VARIABLE, CALL_HEADER_VARIABLE, is_browser_dial

log = logging.getLogger(__name__)


class CallMedia:
    def __init__(self, ari: AriClient):
        self._ari = ari

    # ---- a channel ----

    async def answer(self, channel_id: str) -> None:
        await self._ari.answer(channel_id)

    async def hangup(self, channel_id: str) -> None:
        """Hang a channel up; one already gone is no error."""
        try:
            await self._ari.hangup(channel_id)
        except AriError:
            pass

    async def ring(self, channel_id: str) -> None:
        await self._ari.ring(channel_id)

    async def ring_stop(self, channel_id: str) -> None:
        await self._ari.ring_stop(channel_id)

    async def start_moh(self, channel_id: str, moh_class: str) -> None:
        await self._ari.start_moh(channel_id, moh_class)

    async def stop_moh(self, channel_id: str) -> None:
        await self._ari.stop_moh(channel_id)

    async def play(self, channel_id: str, media: str, language: str, *, playback_id: str | None = None) -> None:
        """Play to the caller; sounds in `language` (ari_app/caller_language.py), as ARI's `lang`.
        With `playback_id`, its PlaybackFinished can be told from others' (ari_app/keypad.py)."""
        await self._ari.play(channel_id, media, lang=language, playback_id=playback_id)

    async def stop_playback(self, playback_id: str) -> None:
        await self._ari.request("DELETE", f"/playbacks/{playback_id}")

    async def watch(self, channel_id: str) -> None:
        """Subscribe to the channel: ChannelDestroyed, with the hangup cause, reaches only subscribers."""
        await self._ari.subscribe(channel_source(channel_id))

    async def to_dialplan_fallback(self, channel_id: str) -> None:
        context, exten, priority = DIALPLAN_FALLBACK
        await self._ari.continue_in_dialplan(channel_id, context=context, extension=exten, priority=priority)

    async def originate_leg(self, *, endpoint: str, leg_channel_id: str, caller_channel: str, caller_id: str,
                            timeout: int, transfers_to_app: bool = False) -> None:
        """Ring a phone for the call of `caller_channel`; if answered it enters the app as 'dialed'.
        `transfers_to_app`: a transfer the phone asks for (SIP REFER) comes to the app (a PJSIP phone)."""
        variables = dict([TRANSFERS_TO_APP]) if transfers_to_app else {}
        if is_browser_dial(endpoint):
            # The browser phone (issue 19) learns the call's id, for its Transfer (the web transfer API).
            variables[CALL_HEADER_VARIABLE] = caller_channel
        await self._ari.originate(endpoint=endpoint, channel_id=leg_channel_id, app_args=dialed_args(caller_channel),
                                  caller_id=caller_id, timeout=timeout, originator=caller_channel,
                                  variables=variables or None)

    async def hand_transfers_to_app(self, channel_id: str) -> None:
        """A transfer this (PJSIP) channel's phone asks for comes to the app as ChannelTransfer."""
        await self._ari.set_variable(channel_id, *TRANSFERS_TO_APP)

    async def transfer_progress(self, channel_id: str, state: str) -> None:
        """channel_progress, channel_answered, channel_unavailable or channel_declined: the phone's NOTIFY."""
        await self._ari.transfer_progress(channel_id, state)

    async def originate_user(self, *, request_id: int, endpoint: str, number: str, timeout: int) -> None:
        """Ring a user's phone (at `endpoint`, its dial string) for click-to-call request `request_id`;
        answered, it enters the app as 'clicktocall'."""
        # The browser phone (issue 19) picks up at once a call its own user just asked for from the page.
        variables = {AUTO_ANSWER_HEADER_VARIABLE: str(request_id)} if is_browser_dial(endpoint) else None
        await self._ari.originate(endpoint=endpoint, channel_id=click_to_call_channel_id(request_id),
                                  app_args=click_to_call_args(request_id), caller_id=number, timeout=timeout,
                                  variables=variables)

    async def originate_supervisor(self, *, request_id: int, endpoint: str, caller_id: str, timeout: int) -> None:
        """Ring a supervisor's phone (at `endpoint`) for supervision request `request_id`; answered,
        it enters the app as 'supervisor' (ari_app/supervision/)."""
        await self._ari.originate(endpoint=endpoint, channel_id=supervisor_channel_id(request_id),
                                  app_args=supervisor_args(request_id), caller_id=caller_id, timeout=timeout)

    async def snoop(self, channel_id: str, *, request_id: int, spy: str, whisper: str) -> None:
        """Snoop on a channel (POST /channels/{id}/snoop): the snoop channel hears its `spy`
        direction(s) and speaks into its `whisper` one(s); it enters the app as 'snoop'."""
        await self._ari.request("POST", f"/channels/{channel_id}/snoop", params={
            "spy": spy, "whisper": whisper, "app": self._ari.app, "appArgs": snoop_args(request_id),
            "snoopId": snoop_channel_id(request_id)})

    async def quietly(self, channel_id: str, request: Awaitable[object]) -> bool:
        """Await an operation on `channel_id`; False (logged) when ARI refused it."""
        try:
            await request
            return True
        except AriError as e:
            log.info("channel %s: %s", channel_id, e)
            return False

    # ---- the call's bridge ----

    async def create_bridge(self, caller_channel: str) -> str:
        """The mixing bridge for the call of `caller_channel`; its id."""
        bridge = bridge_id(caller_channel)
        try:
            await self._ari.create_bridge(bridge, bridge_name(caller_channel))
        except AriError as e:
            if e.status != 409:
                raise
            # Left by a process that died mid-call with a call of the same id (a campaign's dial-<attempt>
            # after its numbers were reset): the id is ours, the bridge serves again.
            log.warning("channel %s: bridge %s already there; using it", caller_channel, bridge)
        return bridge

    async def create_supervision_bridge(self, request_id: int) -> str:
        """The mixing bridge of a supervisor's phone and its snoop (ari_app/supervision/); its id."""
        bridge = supervision_bridge_id(request_id)
        await self._ari.create_bridge(bridge, f"pbxcrm supervision {request_id}")
        return bridge

    async def add_channels(self, bridge: str, channel_ids: list[str]) -> None:
        await self._ari.add_to_bridge(bridge, channel_ids)

    async def remove_channel(self, bridge: str, channel_id: str) -> None:
        await self._ari.remove_from_bridge(bridge, channel_id)

    async def start_bridge_moh(self, bridge: str, moh_class: str) -> None:
        """Music to everyone in the bridge (and into its recording): a caller waiting for a transfer."""
        await self._ari.start_bridge_moh(bridge, moh_class)

    async def stop_bridge_moh(self, bridge: str) -> None:
        await self._ari.stop_bridge_moh(bridge)

    async def record_bridge(self, bridge: str, caller_channel: str) -> str:
        """Start recording the bridge as WAV; the recording's name."""
        name = recording_name(caller_channel)
        await self._ari.request("POST", f"/bridges/{bridge}/record", params={
            "name": name, "format": "wav", "ifExists": "overwrite", "beep": "false"})
        return name

    async def record_channel(self, caller_channel: str, *, max_seconds: int, terminate_on: str) -> str:
        """Start recording the caller's channel as WAV, after a beep; the recording's name."""
        name = voicemail_recording_name(caller_channel)
        await self._ari.request("POST", f"/channels/{caller_channel}/record", params={
            "name": name, "format": "wav", "ifExists": "overwrite", "beep": "true",
            "maxDurationSeconds": str(max_seconds), "terminateOn": terminate_on})
        return name

    async def bridge_channels(self, bridge: str) -> list[str]:
        """The channels in a bridge now."""
        return (await self._ari.request("GET", f"/bridges/{bridge}"))["channels"]

    async def destroy_bridge(self, bridge: str) -> None:
        """Destroy a bridge; one already gone is no error."""
        try:
            await self._ari.destroy_bridge(bridge)
        except AriError:
            pass

    # ---- a stored recording ----

    async def stop_recording(self, name: str) -> None:
        await self._ari.request("POST", f"/recordings/live/{name}/stop")

    async def fetch_recording(self, name: str) -> bytes:
        """The stored recording's file; AriNotFound until Asterisk has closed it."""
        return await self._ari.request("GET", f"/recordings/stored/{name}/file")

    async def delete_recording(self, name: str) -> None:
        await self._ari.request("DELETE", f"/recordings/stored/{name}")
