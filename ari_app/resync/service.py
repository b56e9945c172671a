"""After every (re)connect to ARI: take up the channels sitting in our Stasis app.

While the app was away Asterisk kept them; events about them were lost. A
caller still waiting is routed again; a conversation in one of our bridges is
watched so one side's hangup ends the other; a phone we were ringing is hung
up. No channel is left sitting in Stasis.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from ari_app.calls import CallService
from ari_app.client import AriClient, AriError
from ari_app.constants import OUR_PREFIX, ROUTED_PURPOSES, STORE_PREFIX, SUPERVISION_PREFIX, caller_of_leg
from ari_app.events import ChannelEntered, parse_ari_time
from ari_app.media import CallMedia

log = logging.getLogger(__name__)


def stasis_args(channel: dict, app: str) -> list[str] | None:
    """The Stasis() arguments of a channel in our app, or None if it is not in it."""
    dialplan = channel.get("dialplan") or {}
    if dialplan.get("app_name") != "Stasis":
        return None
    parts = (dialplan.get("app_data") or "").split(",")
    return parts[1:] if parts[0] == app else None


class Resyncer:
    def __init__(self, ari: AriClient, service: CallService, supervising: Callable[[str], bool] = lambda _c: False):
        self._ari = ari
        self._service = service
        self._supervising = supervising
        self._watched: set[str] = set()

    async def __call__(self, connected_at: dt.datetime) -> dict[str, int]:
        return await resync(self._ari, self._service, self._watched, connected_at, self._supervising)


async def resync(ari: AriClient, service: CallService, watched: set[str],
                 connected_at: dt.datetime, supervising: Callable[[str], bool] = lambda _c: False) -> dict[str, int]:
    """Take up what entered Stasis before `connected_at`; later channels came with their own StasisStart.
    A supervisor's phone or snoop (ari_app/supervision/) this process does not hold (`supervising`) is
    hung up; none counts as a side of a conversation."""
    counts = {"routed again": 0, "conversations watched": 0, "hung up": 0, "ended while away": 0}
    # Sessions held before the list is asked for: one whose caller is not in it hung up while we were away.
    held = service.d.registry.callers()
    listed_at = dt.datetime.now(dt.timezone.utc)
    try:
        channels = await ari.list_channels()
        bridges = await ari.list_bridges()
    except AriError as e:
        log.error("resync: cannot list channels and bridges: %s", e)
        return counts
    # A call that ended while we were away never told us: its phones must not stay reserved.
    live = {c["id"] for c in channels}
    service.d.ringer.release_missing(live, listed_at)
    for session in held:
        if session.call.channel_id not in live:
            _caller_gone_while_away(service, session.call.channel_id)
            counts["ended while away"] += 1
    for watcher in [c for c in channels if c["id"].startswith(SUPERVISION_PREFIX)]:
        channels.remove(watcher)
        if not supervising(watcher["id"]):
            log.info("resync: supervision channel %s left over; hanging up", watcher["id"])
            await service.d.media.hangup(watcher["id"])
            counts["hung up"] += 1
    for b in bridges:
        b["channels"] = _sides(b.get("channels", []))
    in_our_bridges = {ch: b for b in bridges if b["id"].startswith(OUR_PREFIX) for ch in b.get("channels", [])}
    # Phones another process (or this one before a restart) was ringing: their calls are routed again.
    counts["hung up"] += await _hang_up_stray_legs(service, ari, channels)
    for channel in channels:
        args = stasis_args(channel, ari.app)
        if args is None or service.d.registry.get(channel["id"]) is not None:
            continue
        if parse_ari_time(channel.get("creationtime")) >= connected_at:
            continue
        bridge = in_our_bridges.get(channel["id"])
        if bridge is not None and len(bridge["channels"]) >= 2:
            if bridge["id"] not in watched:
                watched.add(bridge["id"])
                asyncio.create_task(_watch_conversation(service.d.media, bridge, watched))
                counts["conversations watched"] += 1
        elif args and args[0] in ROUTED_PURPOSES:
            log.info("resync: channel %s from %s still waiting; routing it again", channel["id"],
                     (channel.get("caller") or {}).get("number"))
            service.start_session(ChannelEntered.from_channel(channel, tuple(args)), resumed=True)
            counts["routed again"] += 1
        else:
            log.info("resync: channel %s (%s) left over; hanging up", channel["id"], ",".join(args))
            await service.d.media.hangup(channel["id"])
            counts["hung up"] += 1
    if any(counts.values()):
        log.info("resync: %s", counts)
    return counts


async def _hang_up_stray_legs(service: CallService, ari: AriClient, channels: list[dict]) -> int:
    """Hang up the phones still ringing for a call no session of ours holds, and wait (2 s at
    most) until they are gone: a phone that looks busy with its own old ring would be skipped."""
    held = service.d.registry.get
    stray = [c["id"] for c in channels if c["id"].startswith(OUR_PREFIX) and not c["id"].startswith(STORE_PREFIX)
             and stasis_args(c, ari.app) is None and held(c["id"]) is None and held(caller_of_leg(c["id"])) is None]
    for channel_id in stray:
        log.info("resync: phone channel %s rang for a call nobody holds now; hanging up", channel_id)
        await service.d.media.hangup(channel_id)
    left = list(stray)
    for _ in range(20):
        if not left:
            break
        await asyncio.sleep(0.1)
        try:
            live = {c["id"] for c in await ari.list_channels()}
        except AriError:
            break
        left = [c for c in left if c in live]
    return len(stray)


def _caller_gone_while_away(service: CallService, channel_id: str) -> None:
    """Its StasisEnd and ChannelDestroyed were lost with the connection: what they would have done."""
    log.info("resync: caller %s hung up while the app was away; ending the call", channel_id)
    session = service.d.registry.get(channel_id)
    if session is not None:
        session.channel_gone(channel_id, None)  # its phone is hung up, the bridge destroyed
    service.d.records.ended(channel_id, ended_at=dt.datetime.now(dt.timezone.utc), cause=None)
    service.d.records.missed(channel_id)


def _sides(channel_ids: list[str]) -> list[str]:
    """A bridge's channels but a supervisor's phone (a barge): the call's sides."""
    return [c for c in channel_ids if not c.startswith(SUPERVISION_PREFIX)]


async def _watch_conversation(media: CallMedia, bridge: dict, watched: set[str]) -> None:
    """A conversation from before the restart: when one side leaves, end the other."""
    members = list(bridge["channels"])
    try:
        while True:
            await asyncio.sleep(1)
            try:
                current = _sides(await media.bridge_channels(bridge["id"]))
            except AriError:
                current = []
            if len(current) < len(members):
                for channel_id in current:
                    await media.hangup(channel_id)
                await media.destroy_bridge(bridge["id"])
                return
    finally:
        watched.discard(bridge["id"])
