"""A fake Asterisk ARI for unit tests of the call flow: an aiohttp server on loopback.

Every request the app makes is checked against Asterisk's Swagger documents
(tests/ari_spec.py); a request they do not allow is answered 400, as Asterisk
would, and kept in `violations` for the test to assert empty. Every event the
fake sends is checked against the documented event models the same way.

The fake keeps channels, bridges, recordings and device states, so answers are
what Asterisk would give (404 for a channel that is gone, 409 for one outside
Stasis, state Up after answer) and events follow from what happens: an
originated channel enters Stasis with the app's arguments when the test
answers it, a hangup brings ChannelLeftBridge, StasisEnd and ChannelDestroyed
with its cause. The test plays the people: callers (`incoming`), phones
(`answer`, `hang_up`), Asterisk's own timers (an originate's timeout), and the
network (`drop_websocket`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import re
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.ari_spec import AriSpec, ari_time

log = logging.getLogger(__name__)

# Waits in the test are in real time, also while tests.fast_clock speeds up time.monotonic.
_real_monotonic = time.monotonic

ASTERISK_ID = "02:42:ac:11:00:02"
CAUSE_TEXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
              19: "No answer", 20: "Subscriber absent", 21: "Call Rejected", 26: "Answered elsewhere",
              28: "Invalid number format (addr incomplete)", 31: "Normal, unspecified",
              34: "Circuit/channel congestion", 38: "Network out of order", 58: "Bearer capability not available",
              127: "Interworking, unspecified"}
REASON_CAUSE = {"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 19, "rejected": 21,
                "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
                "interworking": 127, "failure": 38, "answered_elsewhere": 26}


@dataclass
class Request:
    method: str
    path: str  # under /ari
    query: dict[str, str]
    body: Any
    status: int = 0

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Chan:
    """A channel as the fake keeps it: the documented snapshot plus what Asterisk knows of it."""

    snapshot: dict
    in_stasis: bool = False
    ours: bool = False  # originated for the app, or subscribed: its events reach the app
    app_args: str = ""
    bridge: str | None = None
    moh: bool = False
    ringing: bool = False
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.snapshot["id"]


def silent_wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    frames = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames)) + frames)


class FakeAri:
    def __init__(self, spec: AriSpec, *, app: str = "pbxcrm", user: str = "pbxcrm", password: str = "pbxcrm-sandbox"):
        self.spec, self.app = spec, app
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.events: list[dict] = []  # every event the fake raised, delivered or not
        self.delivered: list[dict] = []
        self.channels: dict[str, Chan] = {}
        self.gone: dict[str, dict] = {}  # destroyed channels: their last snapshot, with "cause"
        self.bridges: dict[str, dict] = {}
        self.live: dict[str, dict] = {}
        self.stored: dict[str, bytes] = {}
        self.endpoints: dict[str, str] = {}  # PJSIP resource -> online/offline
        self.globals: dict[str, str] = {}
        self.continued: dict[str, dict] = {}  # channel -> where it went in the dialplan
        self.slow_originate: dict[str, float] = {}  # endpoint -> seconds before Asterisk answers the originate
        self.failing_originate: set[str] = set()  # endpoints Asterisk cannot create a channel for
        self.subscriptions: set[str] = set()
        self.allowed: set[str] | None = None
        self.connections = 0
        self.registered = False
        self._ws: web.WebSocketResponse | None = None
        self._outbox: asyncio.Queue | None = None
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- lifecycle ----

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("GET", "/ari/events", self._events_socket)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        for chan in self.channels.values():
            if chan.timer:
                chan.timer.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- what the test plays: callers, phones, the network ----

    def add_phone(self, extension: str, state: str = "online") -> None:
        self.endpoints[extension] = state

    async def incoming(self, caller_number: str, *, caller_name: str = "", called: str = "4957770000",
                       args: list[str] | None = None, line: str = "PJSIP/trunk") -> str:
        """A call from outside enters Stasis(pbxcrm,inbound,<called>) as the dialplan sends it."""
        args = ["inbound", called] if args is None else args
        channel_id = f"{time.time():.0f}.{next(self._seq)}"
        chan = self._new_channel(channel_id, f"{line}-{next(self._seq):08x}", "Ring",
                                 caller={"name": caller_name, "number": caller_number})
        self._enter_stasis(chan, ",".join(args), context="pbxcrm-inbound", exten=called or "s")
        return channel_id

    async def answer(self, channel_id: str) -> None:
        """The phone of an originated channel picks up: Up, then into Stasis with the originate's appArgs."""
        chan = self.channels[channel_id]
        assert not chan.in_stasis, f"{channel_id} is already answered"
        if chan.timer:
            chan.timer.cancel()
        self._set_state(chan, "Up")
        self._device_state(chan, "INUSE")
        self._enter_stasis(chan, chan.app_args, context="default", exten="s")

    async def hang_up(self, channel_id: str, cause: int = 16) -> None:
        """The person on this channel hangs up (or the phone answers busy: cause 17)."""
        chan = self.channels[channel_id]
        self._emit("ChannelHangupRequest", chan, cause=cause, channel=chan.snapshot)
        self._destroy(chan, cause)

    async def device_state(self, extension: str, state: str) -> None:
        """A phone's device state changes (e.g. INUSE: its user is on a call the app does not see)."""
        self._emit("DeviceStateChanged", None, device_state={"name": f"PJSIP/{extension}", "state": state})

    async def drop_websocket(self) -> None:
        """The network drops the events connection; the app's client reconnects."""
        if self._ws is not None:
            ws, self._ws, self._outbox = self._ws, None, None
            await ws.close(code=1006)

    # ---- what the test reads ----

    def calls_to(self, method: str, pattern: str) -> list[Request]:
        rx = re.compile(f"^{pattern}$")
        return [r for r in self.requests if r.method == method and rx.match(r.path)]

    def commands(self, *channel_ids: str) -> list[str]:
        """The app's requests that change something (not GETs), naming these channels if given."""
        return [str(r) for r in self.requests if r.method != "GET"
                and (not channel_ids or any(c in r.path or any(c in v for v in r.query.values()) for c in channel_ids))]

    def originated(self, endpoint: str | None = None) -> list[Request]:
        return [r for r in self.calls_to("POST", "/channels") if endpoint in (None, r.query.get("endpoint"))]

    async def wait_for(self, predicate, timeout: float = 3.0, what: str = "condition"):
        deadline = _real_monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if _real_monotonic() > deadline:
                raise AssertionError(f"fake ARI: timed out waiting for {what}; requests so far: "
                                     f"{[str(r) for r in self.requests]}")
            await asyncio.sleep(0.003)

    async def next_originate(self, endpoint: str, after: int = 0, timeout: float = 3.0) -> Request:
        """The first originate to this endpoint after `after` earlier ones; its leg exists by then."""
        request = await self.wait_for(lambda: (self.originated(endpoint)[after:] or [None])[0], timeout,
                                      f"originate #{after + 1} to {endpoint}")
        return request

    async def wait_request(self, method: str, pattern: str, timeout: float = 3.0) -> Request:
        return await self.wait_for(lambda: (self.calls_to(method, pattern) or [None])[0], timeout,
                                   f"{method} {pattern}")

    async def wait_gone(self, channel_id: str, timeout: float = 3.0) -> dict:
        return await self.wait_for(lambda: self.gone.get(channel_id), timeout, f"{channel_id} destroyed")

    # ---- events ----

    def _event(self, kind: str, **fields: Any) -> dict:
        event = {"type": kind, "application": self.app, "timestamp": ari_time(), "asterisk_id": ASTERISK_ID,
                 **fields}
        self.violations += [f"fake sent a bad event: {p}" for p in self.spec.check_event(event)]
        return event

    def _emit(self, kind: str, chan: Chan | None, **fields: Any) -> None:
        event = self._event(kind, **fields)
        self.events.append(event)
        reaches = chan is None or chan.ours or chan.in_stasis or f"channel:{chan.id}" in self.subscriptions
        if kind == "DeviceStateChanged":
            reaches = any(s == "deviceState:" or s == f"deviceState:{fields['device_state']['name']}"
                          for s in self.subscriptions)
        if self.allowed is not None and kind not in self.allowed:
            reaches = False
        if reaches and self._outbox is not None:
            self.delivered.append(event)
            self._outbox.put_nowait(event)

    def _new_channel(self, channel_id: str, name: str, state: str, *, caller: dict,
                     connected: dict | None = None) -> Chan:
        chan = Chan({"id": channel_id, "protocol_id": "", "name": name, "state": state, "caller": caller,
                     "connected": connected or {"name": "", "number": ""}, "accountcode": "",
                     "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "",
                                  "app_data": ""},
                     "creationtime": ari_time(), "language": "en"})
        self.channels[channel_id] = chan
        return chan

    def _enter_stasis(self, chan: Chan, app_args: str, *, context: str, exten: str) -> None:
        chan.in_stasis = True
        chan.snapshot["dialplan"] = {"context": context, "exten": exten, "priority": 2, "app_name": "Stasis",
                                     "app_data": f"{self.app},{app_args}" if app_args else self.app}
        self._emit("StasisStart", chan, args=app_args.split(",") if app_args else [], channel=dict(chan.snapshot))

    def _set_state(self, chan: Chan, state: str) -> None:
        chan.snapshot["state"] = state
        self._emit("ChannelStateChange", chan, channel=dict(chan.snapshot))

    def _device_state(self, chan: Chan, state: str) -> None:
        technology, _, rest = chan.snapshot["name"].partition("/")
        resource = rest.rpartition("-")[0]
        if resource in self.endpoints:
            self._emit("DeviceStateChanged", None, device_state={"name": f"{technology}/{resource}", "state": state})

    def _destroy(self, chan: Chan, cause: int) -> None:
        if chan.timer:
            chan.timer.cancel()
        if chan.bridge is not None:
            self._leave_bridge(chan)
        if chan.in_stasis:
            chan.in_stasis = False
            self._emit("StasisEnd", chan, channel=dict(chan.snapshot))
        self._emit("ChannelDestroyed", chan, cause=cause, cause_txt=CAUSE_TEXT.get(cause, "Unknown"),
                   channel=dict(chan.snapshot))
        self._device_state(chan, "NOT_INUSE")
        del self.channels[chan.id]
        self.gone[chan.id] = {**chan.snapshot, "cause": cause}

    def _leave_bridge(self, chan: Chan) -> None:
        bridge = self.bridges[chan.bridge]
        bridge["channels"].remove(chan.id)
        chan.bridge = None
        self._emit("ChannelLeftBridge", chan, bridge=dict(bridge), channel=dict(chan.snapshot))

    def _finish_recording(self, name: str) -> None:
        recording = self.live.pop(name)
        recording.update(state="done", duration=1)
        self.stored[name] = silent_wav()
        self._emit("RecordingFinished", None, recording=recording)

    # ---- the websocket ----

    async def _events_socket(self, request: web.Request) -> web.StreamResponse:
        query = {k: ",".join(request.query.getall(k)) for k in request.query}
        problems = self._check_auth(request) + self.spec.check_request("GET", "/events", query, None)
        self.requests.append(Request("GET", "/events", query, None, 400 if problems else 101))
        if problems:
            self.violations += problems
            return web.json_response({"message": "; ".join(problems)}, status=400)
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        outbox: asyncio.Queue = asyncio.Queue()
        self._ws, self._outbox, self.registered = ws, outbox, True
        self.connections += 1
        writer = asyncio.create_task(self._write(ws, outbox))
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            writer.cancel()
            if self._ws is ws:
                self._ws = self._outbox = None
        return ws

    @staticmethod
    async def _write(ws: web.WebSocketResponse, outbox: asyncio.Queue) -> None:
        while True:
            event = await outbox.get()
            await ws.send_str(json.dumps(event))

    # ---- REST ----

    def _check_auth(self, request: web.Request) -> list[str]:
        return [] if request.headers.get("Authorization") == self._auth else [
            f"{request.method} {request.path}: no or wrong Basic credentials"]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        query = {k: ",".join(request.query.getall(k)) for k in request.query}
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            self.violations.append(f"{request.method} {path}: body is not JSON")
        if request.method == "POST" and path == "/channels" and query.get("endpoint") in self.slow_originate:
            await asyncio.sleep(self.slow_originate[query["endpoint"]])
        # Recorded and handled with no await between: a test that sees the request sees its effect.
        entry = Request(request.method, path, query, body)
        self.requests.append(entry)
        problems = self._check_auth(request) + self.spec.check_request(request.method, path, query, body)
        if problems:
            self.violations += problems
            entry.status = 400
            return web.json_response({"message": "; ".join(problems)}, status=400)
        op = self.spec.operation(request.method, path)
        handler = _HANDLERS.get((op.method, op.path))
        if handler is None:
            self.violations.append(f"{op.method} {op.path}: documented, but the fake does not implement it")
            entry.status = 501
            return web.json_response({"message": "not implemented by the fake"}, status=501)
        values = re.match(re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.path)), path).groups()
        status, answer = handler(self, *values, q=query, body=body)
        entry.status = status
        if isinstance(answer, bytes):
            return web.Response(body=answer, status=status, content_type="audio/wav")
        if status >= 400:
            return web.json_response({"message": answer}, status=status)
        return web.json_response(answer, status=status) if answer is not None else web.Response(status=status)

    def _chan(self, channel_id: str, *, stasis: bool = True) -> tuple[Chan | None, tuple[int, str] | None]:
        chan = self.channels.get(channel_id)
        if chan is None:
            return None, (404, "Channel not found")
        if stasis and not chan.in_stasis:
            return None, (409, "Channel not in Stasis application")
        return chan, None

    def application(self) -> dict:
        chans = sorted(c.id for c in self.channels.values() if c.in_stasis or c.ours)
        return {"name": self.app, "channel_ids": chans, "bridge_ids": sorted(self.bridges), "endpoint_ids": [],
                "device_names": sorted(s.split(":", 1)[1] for s in self.subscriptions if s.startswith("deviceState:")),
                "events_allowed": [{"type": t} for t in sorted(self.allowed or ())], "events_disallowed": []}


# ---- the operations, by documented method and path; each answers (status, body) ----

def _list_channels(f: FakeAri, q, body):
    return 200, [c.snapshot for c in f.channels.values()]


def _originate(f: FakeAri, q, body):
    channel_id = q.get("channelId") or f"{time.time():.0f}.{next(f._seq)}"
    if channel_id in f.channels:
        return 409, "Channel with given unique ID already exists"
    endpoint = q["endpoint"]
    if endpoint in f.failing_originate:
        return 500, "Allocation failed"
    technology, _, resource = endpoint.partition("/")
    if "@" in resource:
        resource = resource.split("@", 1)[1]  # PJSIP/number@trunk: a channel of the trunk endpoint
    name, _, number = q.get("callerId", "").rpartition("<")
    caller = {"name": name.strip().strip('"'), "number": number.rstrip(">")} if number.endswith(">") else \
        {"name": "", "number": q.get("callerId", "")}
    originator = f.channels.get(q.get("originator", ""))
    chan = f._new_channel(channel_id, f"{technology}/{resource}-{next(f._seq):08x}", "Down", caller=caller,
                          connected=dict(originator.snapshot["caller"]) if originator else None)
    chan.ours, chan.app_args = q.get("app") == f.app, q.get("appArgs", "")
    if q.get("app") and q["app"] != f.app:
        f.violations.append(f"originate into another app {q['app']!r}")
    timeout = int(q.get("timeout", 30))
    loop = asyncio.get_running_loop()
    if timeout > 0:
        # Asterisk gives up ringing after the originate's timeout: the channel ends "no answer".
        chan.timer = loop.call_later(timeout, lambda: chan.id in f.channels and f._destroy(chan, 19))
    # The phone starts ringing just after the answer to this request.
    loop.call_soon(lambda: chan.id in f.channels and chan.snapshot["state"] == "Down" and (
        f._set_state(chan, "Ringing"), f._device_state(chan, "RINGING")))
    return 200, dict(chan.snapshot)


def _get_channel(f: FakeAri, channel_id, q, body):
    chan = f.channels.get(channel_id)
    return (200, chan.snapshot) if chan else (404, "Channel not found")


def _hangup(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id, stasis=False)
    if error:
        return error
    f._destroy(chan, REASON_CAUSE[q.get("reason", "normal")] if "reason_code" not in q else int(q["reason_code"]))
    return 204, None


def _answer(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    if chan.snapshot["state"] != "Up":
        f._set_state(chan, "Up")
    return 204, None


def _continue(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    f.continued[channel_id] = {"context": q.get("context"), "extension": q.get("extension"),
                               "priority": int(q["priority"]) if "priority" in q else None}
    chan.in_stasis = False
    f._emit("StasisEnd", chan, channel=dict(chan.snapshot))
    chan.snapshot["dialplan"] = {"context": q.get("context") or chan.snapshot["dialplan"]["context"],
                                 "exten": q.get("extension") or "s", "priority": int(q.get("priority", 1)),
                                 "app_name": "", "app_data": ""}
    return 204, None


def _flag(attr: str, value: bool):
    def handler(f: FakeAri, channel_id, q, body):
        chan, error = f._chan(channel_id)
        if error:
            return error
        setattr(chan, attr, value)
        return 204, None
    return handler


def _play(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    playback = {"id": q.get("playbackId") or f"playback-{next(f._seq)}", "media_uri": q["media"].split(",")[0],
                "target_uri": f"channel:{channel_id}", "language": "en", "state": "queued"}
    f._emit("PlaybackStarted", chan, playback={**playback, "state": "playing"})
    return 201, playback


def _list_bridges(f: FakeAri, q, body):
    return 200, list(f.bridges.values())


def _create_bridge(f: FakeAri, q, body):
    bridge_id = q.get("bridgeId") or f"bridge-{next(f._seq)}"
    if bridge_id in f.bridges:
        return 409, "Bridge with this id already exists"
    kind = (q.get("type") or "mixing").split(",")[0]
    f.bridges[bridge_id] = bridge = {
        "id": bridge_id, "technology": "simple_bridge", "bridge_type": kind if kind == "holding" else "mixing",
        "bridge_class": "stasis", "creator": "Stasis", "name": q.get("name", ""), "channels": [],
        "creationtime": ari_time(), "video_mode": "none"}
    f._emit("BridgeCreated", None, bridge=dict(bridge))
    return 200, dict(bridge)


def _get_bridge(f: FakeAri, bridge_id, q, body):
    bridge = f.bridges.get(bridge_id)
    return (200, bridge) if bridge else (404, "Bridge not found")


def _destroy_bridge(f: FakeAri, bridge_id, q, body):
    bridge = f.bridges.get(bridge_id)
    if bridge is None:
        return 404, "Bridge not found"
    for channel_id in list(bridge["channels"]):
        f._leave_bridge(f.channels[channel_id])
    for name, recording in list(f.live.items()):
        if recording["target_uri"] == f"bridge:{bridge_id}":
            f._finish_recording(name)
    del f.bridges[bridge_id]
    f._emit("BridgeDestroyed", None, bridge=bridge)
    return 204, None


def _add_channel(f: FakeAri, bridge_id, q, body):
    bridge = f.bridges.get(bridge_id)
    if bridge is None:
        return 404, "Bridge not found"
    chans = [f.channels.get(c) for c in q["channel"].split(",")]
    if None in chans:
        return 400, "Channel not found"
    if not all(c.in_stasis for c in chans):
        return 422, "Channel not in Stasis application"
    for chan in chans:
        if chan.bridge is not None:
            f._leave_bridge(chan)
        chan.bridge = bridge_id
        bridge["channels"].append(chan.id)
        f._emit("ChannelEnteredBridge", chan, bridge=dict(bridge, channels=list(bridge["channels"])),
                channel=dict(chan.snapshot))
    return 204, None


def _remove_channel(f: FakeAri, bridge_id, q, body):
    bridge = f.bridges.get(bridge_id)
    if bridge is None:
        return 404, "Bridge not found"
    for channel_id in q["channel"].split(","):
        if channel_id not in bridge["channels"]:
            return 422, "Channel not in this bridge"
        f._leave_bridge(f.channels[channel_id])
    return 204, None


def _record_bridge(f: FakeAri, bridge_id, q, body):
    if bridge_id not in f.bridges:
        return 404, "Bridge not found"
    name = q["name"]
    if (name in f.live or name in f.stored) and q.get("ifExists", "fail") == "fail":
        return 422, "Recording with this name already exists"
    f.live[name] = recording = {"name": name, "format": q["format"], "target_uri": f"bridge:{bridge_id}",
                                "state": "recording"}
    f._emit("RecordingStarted", None, recording=dict(recording))
    return 201, dict(recording)


def _stop_recording(f: FakeAri, name, q, body):
    if name not in f.live:
        return 404, "Recording not found"
    f._finish_recording(name)
    return 204, None


def _stored_file(f: FakeAri, name, q, body):
    return (200, f.stored[name]) if name in f.stored else (404, "Recording not found")


def _delete_stored(f: FakeAri, name, q, body):
    if f.stored.pop(name, None) is None:
        return 404, "Recording not found"
    return 204, None


def _endpoint(f: FakeAri, technology, resource, q, body):
    if technology != "PJSIP" or resource not in f.endpoints:
        return 404, "Endpoint not found"
    ids = [c.id for c in f.channels.values() if c.snapshot["name"].startswith(f"PJSIP/{resource}-")]
    return 200, {"technology": technology, "resource": resource, "state": f.endpoints[resource],
                 "channel_ids": ids}


def _subscribe(f: FakeAri, app, q, body):
    if app != f.app or not f.registered:
        return 404, "Application not found"
    for source in q["eventSource"].split(","):
        kind, _, name = source.partition(":")
        if kind == "channel" and name not in f.channels:
            return 422, "Event source does not exist"
        if kind not in ("channel", "bridge", "endpoint", "deviceState"):
            return 400, "Invalid event source URI scheme"
        f.subscriptions.add(source)
    return 200, f.application()


def _event_filter(f: FakeAri, app, q, body):
    if app != f.app or not f.registered:
        return 404, "Application not found"
    body = body or {}
    if not isinstance(body.get("allowed", []), list) or not all(isinstance(t, dict) and "type" in t
                                                                for t in body.get("allowed", [])):
        return 400, "Invalid filter"
    f.allowed = {t["type"] for t in body.get("allowed", [])} or None
    return 200, f.application()


def _set_global(f: FakeAri, q, body):
    f.globals[q["variable"]] = q.get("value", "")
    return 204, None


_HANDLERS = {
    ("GET", "/channels"): _list_channels,
    ("POST", "/channels"): _originate,
    ("GET", "/channels/{channelId}"): _get_channel,
    ("DELETE", "/channels/{channelId}"): _hangup,
    ("POST", "/channels/{channelId}/answer"): _answer,
    ("POST", "/channels/{channelId}/continue"): _continue,
    ("POST", "/channels/{channelId}/ring"): _flag("ringing", True),
    ("DELETE", "/channels/{channelId}/ring"): _flag("ringing", False),
    ("POST", "/channels/{channelId}/moh"): _flag("moh", True),
    ("DELETE", "/channels/{channelId}/moh"): _flag("moh", False),
    ("POST", "/channels/{channelId}/play"): _play,
    ("GET", "/bridges"): _list_bridges,
    ("POST", "/bridges"): _create_bridge,
    ("GET", "/bridges/{bridgeId}"): _get_bridge,
    ("DELETE", "/bridges/{bridgeId}"): _destroy_bridge,
    ("POST", "/bridges/{bridgeId}/addChannel"): _add_channel,
    ("POST", "/bridges/{bridgeId}/removeChannel"): _remove_channel,
    ("POST", "/bridges/{bridgeId}/record"): _record_bridge,
    ("POST", "/recordings/live/{recordingName}/stop"): _stop_recording,
    ("GET", "/recordings/stored/{recordingName}/file"): _stored_file,
    ("DELETE", "/recordings/stored/{recordingName}"): _delete_stored,
    ("GET", "/endpoints/{tech}/{resource}"): _endpoint,
    ("POST", "/applications/{applicationName}/subscription"): _subscribe,
    ("PUT", "/applications/{applicationName}/eventFilter"): _event_filter,
    ("POST", "/asterisk/variable"): _set_global,
}
