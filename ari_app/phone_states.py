"""Whether a phone can take a call now, kept from Asterisk's device state events.

Asking ARI for the endpoint on every call costs a round trip on the routing
path (issue 8's first-dial latency); Asterisk pushes DeviceStateChanged for
every device once the app subscribes to "deviceState:", so the answer is
usually already here. A device not heard of since the (re)connect is asked for
once. A state that is a moment stale only means the phone answers busy, which
the ringer already treats as "try the next target".
"""

from __future__ import annotations

import logging

from ari_app.client import AriClient, AriError

log = logging.getLogger(__name__)

# Asterisk's device states (ARI DeviceState model) and what they mean for a new call.
BUSY_STATES = {"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"}
UNREACHABLE_STATES = {"UNAVAILABLE", "INVALID"}
TECHNOLOGY = "PJSIP"


def problem_of(state: str) -> str | None:
    """'busy on another call' or 'unreachable' for a device state, None when free."""
    if state in UNREACHABLE_STATES:
        return "unreachable"
    if state in BUSY_STATES:
        return "busy on another call"
    return None


def state_of_endpoint(endpoint: dict) -> str:
    """An ARI Endpoint (GET /endpoints/...) as the device state it implies."""
    if endpoint.get("state") == "offline":
        return "UNAVAILABLE"
    return "INUSE" if endpoint.get("channel_ids") else "NOT_INUSE"


class PhoneStates:
    def __init__(self, ari: AriClient):
        self._ari = ari
        self._states: dict[str, str] = {}

    async def connected(self) -> None:
        """After every (re)connect: events may have been missed, so forget and subscribe again."""
        self._states.clear()
        try:
            await self._ari.subscribe("deviceState:")
        except AriError as e:
            # Still correct without events: every check then asks ARI.
            log.warning("device state events not subscribed (%s); asking ARI per call", e)

    async def on_device_state_changed(self, event: dict) -> None:
        device = event.get("device_state") or {}
        technology, _, resource = (device.get("name") or "").partition("/")
        if technology == TECHNOLOGY and resource:
            self._states[resource] = device.get("state", "UNKNOWN")

    def dialled(self, extension: str) -> None:
        """We just rang this phone: busy for the next call, before Asterisk's event arrives."""
        self._states[extension] = "RINGING"

    def forget(self, extension: str) -> None:
        """Ringing it failed: ask again next time rather than trust our own guess."""
        self._states.pop(extension, None)

    async def problem(self, extension: str) -> str | None:
        """'busy on another call' or 'unreachable' when the phone cannot take a call now, else None."""
        state = self._states.get(extension)
        if state is None:
            try:
                endpoint = await self._ari.get_endpoint(TECHNOLOGY, extension)
            except AriError as e:
                return f"unreachable ({e.status or 'no answer'})"
            # An event that arrived during the request is newer than the answer.
            state = self._states.setdefault(extension, state_of_endpoint(endpoint))
        return problem_of(state)
