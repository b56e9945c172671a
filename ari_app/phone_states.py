"""Whether a phone can take a call now, kept from Asterisk's device state events.

Asking ARI for the endpoint on every call costs a round trip on the routing
path (issue 8's first-dial latency); Asterisk pushes DeviceStateChanged for
every device once the app subscribes to "deviceState:", so the answer is
usually already here. A device not heard of since the (re)connect is asked for
once. A state that is a moment stale only means the phone answers busy, which
the ringer already treats as "try the next target".

Device states lag: twenty queued callers reading them at once all saw the same
phone free (issue 12), and one operator was rung for and bridged to three of
them. So a call that is about to ring a phone first *reserves* it
(`try_reserve`: the check and the reservation with no await in between, so no
other call can slip in) and holds it while it rings and, if answered, until
the call ends (`release`). A phone reserved by one call is busy for every other.

Phones are known by extension; where each is rung is its user's dial string (issue 15:
PJSIP/102, SIP/1001, IAX2/..., Local/...@ctx; crm/dialing/technology.py), and its state
is that device's. A phone without a device of its own (Local, or a number through
another endpoint) has no state to ask: it counts as free, and ringing it tells.

More than one PBX (issue 26): `shared` (ari_app/cluster/shared.py) knows the other nodes' phones and
holds. A phone of another node is rung through that node's trunk (`where_to_ring`), its state is what
its node last said, and a phone another node's call holds is busy here too; this node's states and
holds are told to the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ari_app.client import AriClient, AriError
from ari_app.constants import (
    BUSY_STATES,
    DEVICE_STATE_SOURCE,
    STATE_IN_USE,
    STATE_NOT_IN_USE,
    STATE_RINGING,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UNREACHABLE_STATES,
)
from crm.dialing.technology import default_dial, devices

if TYPE_CHECKING:
    from ari_app.cluster.shared import SharedState

log = logging.getLogger(__name__)

# Asterisk's device states (ARI DeviceState model) and what they mean for a new call: ari_app.constants.


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
        return STATE_UNAVAILABLE
    return STATE_IN_USE if endpoint.get("channel_ids") else STATE_NOT_IN_USE


class PhoneStates:
    def __init__(self, ari: AriClient, dial_of: Callable[[str], str] = default_dial):
        self._ari = ari
        # extension -> where its phone is rung (the CRM's users, crm/routing/view.py)
        self.dial_of = dial_of
        # device name (PJSIP/102) -> its last known state
        self._states: dict[str, str] = {}
        # extension -> (the caller channel holding it, when it was reserved)
        self._reserved: dict[str, tuple[str, dt.datetime]] = {}
        # Set (and replaced) whenever a phone may have become free: waiting callers look again.
        self._freed = asyncio.Event()
        self.shared: SharedState | None = None  # the other PBX nodes' phones (issue 26), when there are

    def share_with(self, shared: SharedState) -> None:
        self.shared = shared
        shared.on_freed(self._signal_freed)

    def where_to_ring(self, extension: str) -> str:
        """The dial string a call rings the user's phones with: theirs, through another node's trunk
        for a phone of that node (issue 26)."""
        dial = self.dial_of(extension)
        return self.shared.route(dial) if self.shared is not None else dial

    async def connected(self) -> None:
        """After every (re)connect: events may have been missed, so forget and subscribe again."""
        self._states.clear()
        try:
            await self._ari.subscribe(DEVICE_STATE_SOURCE)
        except AriError as e:
            # Still correct without events: every check then asks ARI.
            log.warning("device state events not subscribed (%s); asking ARI per call", e)
        if self.shared is not None:
            await self._list_for_other_nodes()

    async def _list_for_other_nodes(self) -> None:
        try:
            endpoints = await self._ari.request("GET", "/endpoints") or []
        except AriError as e:
            log.warning("endpoints not listed for the other nodes (%s)", e)
            return
        assert self.shared is not None
        self.shared.listed({f"{e['technology']}/{e['resource']}": state_of_endpoint(e) for e in endpoints
                            if e.get("technology") and e.get("resource")})

    async def leaving(self) -> None:
        """Before the app's websocket closes: drop the "deviceState:" subscription first.

        Asterisk 22 deadlocks when an app subscribed to device states unregisters (its websocket
        closes) while a device state event is on its way to it: the unregistering thread holds
        the ARI session's lock and waits for the subscription's last event, whose delivery waits
        for that lock. Every later ARI websocket then hangs. Unsubscribed over HTTP, no lock is held."""
        try:
            await self._ari.unsubscribe(DEVICE_STATE_SOURCE)
        except AriError as e:
            log.warning("device state events not unsubscribed before leaving (%s)", e)

    async def on_device_state_changed(self, event: dict) -> None:
        device = event.get("device_state") or {}
        name = device.get("name") or ""
        if "/" in name:
            self._states[name] = device.get("state", STATE_UNKNOWN)
            if self.shared is not None:
                self.shared.state_changed(name, self._states[name])
            if problem_of(self._states[name]) is None:
                self._signal_freed()

    def freed(self) -> asyncio.Event:
        """An event set the next time a phone may have become free."""
        return self._freed

    def wake(self) -> None:
        """Something other than a phone changed that may free one for a call (an agent resumed,
        its wrap-up ended): waiting callers look again."""
        self._signal_freed()

    def _signal_freed(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    def _devices(self, extension: str) -> list[str]:
        """The devices of the user's phones: one, or the desk's and the browser's (issue 19: both ring)."""
        return devices(self.dial_of(extension))

    def _known_problem(self, extension: str) -> str | None:
        """What the known states say of the user's phones together: busy when one talks or rings
        (the user is on a call), unreachable when none can ring, else None (unknown counts as free)."""
        names = self._devices(extension)
        if self.shared is not None:
            if any(self.shared.held_elsewhere(d) for d in names):
                return "busy on another call"
            states = [self._states.get(d) or self.shared.remote_state(d) for d in names]
        else:
            states = [self._states.get(d) for d in names]
        problems = [problem_of(s) if s is not None else None for s in states]
        if "busy on another call" in problems:
            return "busy on another call"
        if problems and all(p == "unreachable" for p in problems):
            return "unreachable"
        return None

    def dialled(self, extension: str) -> None:
        """We just rang this phone: busy for the next call, before Asterisk's event arrives."""
        for device in self._devices(extension):
            self._states[device] = STATE_RINGING

    def forget(self, extension: str) -> None:
        """Ringing it failed: ask again next time rather than trust our own guess."""
        for device in self._devices(extension):
            self._states.pop(device, None)

    def try_reserve(self, owner: str, extensions: Iterable[str], limit: int | None = None) -> list[str]:
        """Reserve for `owner` (a caller's channel id) those of `extensions` no other call holds and
        no known state says are busy, in order, at most `limit`; returns the ones reserved.

        Synchronous on purpose: between the check and the reservation nothing else runs.
        """
        got: list[str] = []
        now = dt.datetime.now(dt.timezone.utc)
        for extension in extensions:
            if limit is not None and len(got) >= limit:
                break
            holder = self._reserved.get(extension)
            if holder is not None and holder[0] != owner:
                continue
            if holder is None and self._known_problem(extension) is not None:
                continue
            self._reserved[extension] = holder or (owner, now)
            got.append(extension)
            if holder is None:
                self._tell_held(extension, True)
        return got

    def _tell_held(self, extension: str, held: bool) -> None:
        if self.shared is not None:
            self.shared.held(self._devices(extension), held)

    def hold(self, owner: str, extension: str) -> None:
        """The phone talks on `owner`'s call now, whoever held it (an attended transfer brought it)."""
        self._reserved[extension] = (owner, dt.datetime.now(dt.timezone.utc))
        self._tell_held(extension, True)

    def release(self, owner: str, extensions: Iterable[str] | None = None) -> None:
        """Give back `owner`'s reservations: the ones named, or all of them; the next look at those
        phones asks Asterisk (or takes its next event) rather than our own "ringing" guess."""
        names = list(self._reserved) if extensions is None else list(extensions)
        for extension in names:
            holder = self._reserved.get(extension)
            if holder is not None and holder[0] == owner:
                del self._reserved[extension]
                self._tell_held(extension, False)
                # What we know of it is our own "ringing" guess: ask Asterisk next time.
                self.forget(extension)
                self._signal_freed()

    def holder(self, extension: str) -> str | None:
        held = self._reserved.get(extension)
        return held[0] if held else None

    def release_missing(self, live_channels: set[str], before: dt.datetime) -> list[str]:
        """After a reconnect: drop reservations made before `before` whose caller is not among
        Asterisk's channels any more (its hangup event was lost with the connection)."""
        stale = [ext for ext, (owner, at) in self._reserved.items() if at < before and owner not in live_channels]
        for extension in stale:
            owner = self._reserved.pop(extension)[0]
            self._tell_held(extension, False)
            log.info("phone %s: reservation of gone call %s released after a reconnect", extension, owner)
        if stale:
            self._signal_freed()
        return stale

    async def problem(self, extension: str, owner: str | None = None) -> str | None:
        """'busy on another call' or 'unreachable' when the phone cannot take a call now, else None.

        A phone reserved by a call other than `owner` is busy."""
        holder = self._reserved.get(extension)
        if holder is not None and holder[0] != owner:
            return "busy on another call"
        # No device of its own (a Local channel, a number through a trunk): nothing to ask, free.
        names = self._devices(extension)
        if self.shared is not None and any(self.shared.held_elsewhere(d) for d in names):
            return "busy on another call"  # another node's call holds it: no need to ask
        for name in names:
            if name in self._states or (self.shared is not None and self.shared.is_remote(name)):
                continue  # known, or another node's phone: its node tells its state (issue 26)
            try:
                endpoint = await self._ari.get_endpoint(*name.split("/", 1))
            except AriError as e:
                if len(names) == 1:
                    return f"unreachable ({e.status or 'no answer'})"
                self._states.setdefault(name, STATE_UNAVAILABLE)
                continue
            # An event that arrived during the request is newer than the answer.
            self._states.setdefault(name, state_of_endpoint(endpoint))
        return self._known_problem(extension)
