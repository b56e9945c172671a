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
import datetime as dt
import itertools
import json
import logging
import math
import re
import struct
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.ari_spec import AriSpec, ari_time
from tests.fake_ari_ops import HANDLERS
from tests.fast_clock import real_monotonic  # waits stay real while tests.fast_clock runs

log = logging.getLogger(__name__)


ASTERISK_ID = "02:42:ac:11:00:02"
CAUSE_TEXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
              19: "No answer", 20: "Subscriber absent", 21: "Call Rejected", 26: "Answered elsewhere",
              28: "Invalid number format (addr incomplete)", 31: "Normal, unspecified",
              34: "Circuit/channel congestion", 38: "Network out of order", 58: "Bearer capability not available",
              127: "Interworking, unspecified"}


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
    variables: dict[str, str] = field(default_factory=dict)
    # PJSIP_TRANSFER_HANDLING=ari-only: the phone's REFER comes to the app as ChannelTransfer.
    transfers_to_app: bool = False
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.snapshot["id"]


def silent_wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    return _wav(b"\x00\x00" * int(seconds * rate), rate)


def tone_wav(seconds: float, rate: int = 8000, hz: int = 440) -> bytes:
    """A caller saying something: a 440 Hz tone, `seconds` long."""
    samples = (int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(seconds * rate)))
    return _wav(b"".join(struct.pack("<h", v) for v in samples), rate)


def _wav(frames: bytes, rate: int) -> bytes:
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
        self.playbacks: dict[str, dict] = {}  # playing now, by id
        # How long a playback plays before PlaybackFinished: by its first media URI, else the default.
        self.playback_seconds = 0.05
        self.playback_lengths: dict[str, float] = {}
        self.endpoints: dict[str, str] = {}  # PJSIP resource -> online/offline
        self.globals: dict[str, str] = {}
        # AstDB family pbxcrm, as our dialplan's [pbxcrm-store] writes it (ari_app/dialplan_store.py).
        self.astdb: dict[str, str] = {}
        self.continued: dict[str, dict] = {}  # channel -> where it went in the dialplan
        self.slow_originate: dict[str, float] = {}  # endpoint -> seconds before Asterisk answers the originate
        self.failing_originate: set[str] = set()  # endpoints Asterisk cannot create a channel for
        self.subscriptions: set[str] = set()
        # What a caller's channel recording (a voicemail) holds when it ends; None: a tone as long as it ran.
        self.caller_audio: bytes | None = None
        self.refuse_recording: tuple[int, str] | None = None  # e.g. (422, "...") for POST /channels/{id}/record
        self.allowed: set[str] | None = None
        self.refers: dict[str, dict] = {}  # channel -> its phone's REFER (the ChannelTransfer's fields)
        self.transfer_progress: list[tuple[str, str]] = []  # (channel, states) the app told
        self.bridge_moh: dict[str, str | None] = {}  # bridge -> the music class playing to it
        # Snoop channels (POST /channels/{id}/snoop): snoop id -> {"target", "spy", "whisper"}. Like
        # Asterisk's, a snoop ends when the channel it is on does.
        self.snoops: dict[str, dict] = {}
        self.connections = 0
        self.registered = False
        self.socket_closed_at: list[int] = []
        # What `pbxcrm doctor` asks of Asterisk (tests/test_doctor.py; fake_ari_ops.py answers).
        self.version = "22.10.1"
        self.modules: set[str] = set()  # running modules, as Asterisk names them: app_dial.so, res_ari.so
        self.dialplan: dict[str, set[str]] = {}  # context -> its extensions: s, 101, _[0-9+].
        self.endpoint_contexts: dict[str, str] = {}  # PJSIP endpoint -> its context
        self.clock_skew = 0.0  # seconds Asterisk's clock is ahead of this host's
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
                       args: list[str] | None = None, line: str = "PJSIP/trunk", language: str = "en",
                       context: str = "pbxcrm-inbound", waited: float = 0) -> str:
        """A call from outside enters Stasis(pbxcrm,inbound,<called>) as the dialplan sends it.
        `language`: the channel's, as the trunk endpoint's `language =` or the dialplan set it;
        `context` and `waited`: from where and how long after the call came in (the dialplan's
        default queue offers its callers to the app again: dialplan/pbxcrm.conf)."""
        args = ["inbound", called] if args is None else args
        channel_id = f"{time.time():.0f}.{next(self._seq)}"
        chan = self._new_channel(channel_id, f"{line}-{next(self._seq):08x}", "Ring",
                                 caller={"name": caller_name, "number": caller_number}, language=language)
        if waited:
            chan.snapshot["creationtime"] = ari_time(dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=waited))
        self._enter_stasis(chan, ",".join(args), context=context, exten=(called or "s") if context == "pbxcrm-inbound"
                           else "s")
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

    async def press(self, channel_id: str, digits: str, *, duration_ms: int = 100) -> None:
        """The person on this channel presses keys (RFC 2833 DTMF, as Asterisk reports each)."""
        chan = self.channels[channel_id]
        for digit in digits:
            self._emit("ChannelDtmfReceived", chan, digit=digit, duration_ms=duration_ms, channel=dict(chan.snapshot))
            for name, recording in list(self.live.items()):  # a key that ends the channel's recording
                if recording["target_uri"] == f"channel:{channel_id}" and digit in recording["terminate_on"]:
                    self._finish_recording(name)

    async def fail_recording(self, channel_id: str, cause: str = "Recording failed") -> None:
        """Asterisk fails the channel's recording (a full disk, say): RecordingFailed, and no file."""
        for name, recording in list(self.live.items()):
            if recording["target_uri"] == f"channel:{channel_id}":
                del self.live[name]
                timer = recording.pop("timer", None)
                if timer is not None:
                    timer.cancel()
                recording.pop("started", None)
                recording.pop("terminate_on", None)
                self._emit("RecordingFailed", None, recording={**recording, "state": "failed", "cause": cause})

    async def refer(self, channel_id: str, destination: str, *, replaces: str | None = None) -> None:
        """The phone on `channel_id` asks for a transfer (SIP REFER): Refer-To's user part `destination`;
        with `replaces` (attended), the channel of the consultation call the Replaces names. Asterisk
        22 with PJSIP_TRANSFER_HANDLING=ari-only sends ChannelTransfer (res_pjsip_refer, ast_refer_notify_
        transfer_request): the source channel, its bridge and peer; the consultation's, if found."""
        chan = self.channels[channel_id]
        assert chan.transfers_to_app, f"{channel_id}: Asterisk would do this transfer itself (not ari-only)"
        wanted: dict[str, Any] = {"destination": destination}
        refer_to: dict[str, Any] = {"requested_destination": wanted}
        if replaces is not None:
            wanted["protocol_id"] = f"{replaces}-sip-call-id@127.0.0.1"
            wanted["additional_protocol_params"] = [{"parameter_name": "from", "parameter_value": "ftag"},
                                                    {"parameter_name": "to", "parameter_value": "ttag"}]
            if replaces in self.channels:
                refer_to.update(self._bridge_side("destination_channel", self.channels[replaces]))
        refer = {"refer_to": refer_to, "referred_by": self._bridge_side("source_channel", chan)}
        self.refers[channel_id] = refer
        self._emit("ChannelTransfer", chan, **refer)

    def _bridge_side(self, key: str, chan: Chan) -> dict:
        """A channel, with its bridge and the other channel in it (ReferTo / ReferredBy)."""
        side: dict[str, Any] = {key: dict(chan.snapshot)}
        if chan.bridge is not None:
            bridge = self.bridges[chan.bridge]
            side["bridge"] = dict(bridge, channels=list(bridge["channels"]))
            peers = [c for c in bridge["channels"] if c != chan.id]
            if peers:
                side["connected_channel"] = dict(self.channels[peers[0]].snapshot)
        return side

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
        """Channels the app originated (to this endpoint); with none given, the phones and numbers
        it rang, not the Local channels that write the dialplan's settings ([pbxcrm-store])."""
        return [r for r in self.calls_to("POST", "/channels") if endpoint == r.query.get("endpoint")
                or (endpoint is None and r.query.get("endpoint") != "Local/s@pbxcrm-store")]

    async def wait_for(self, predicate, timeout: float = 3.0, what: str = "condition"):
        deadline = real_monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if real_monotonic() > deadline:
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
                     connected: dict | None = None, language: str = "en") -> Chan:
        chan = Chan({"id": channel_id, "protocol_id": "", "name": name, "state": state, "caller": caller,
                     "connected": connected or {"name": "", "number": ""}, "accountcode": "",
                     "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "",
                                  "app_data": ""},
                     "creationtime": ari_time(), "language": language})
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
        if (resource if technology == "PJSIP" else f"{technology}/{resource}") in self.endpoints:
            self._emit("DeviceStateChanged", None, device_state={"name": f"{technology}/{resource}", "state": state})

    def _destroy(self, chan: Chan, cause: int) -> None:
        if chan.timer:
            chan.timer.cancel()
        for playback_id, playback in list(self.playbacks.items()):
            if playback["target_uri"] == f"channel:{chan.id}":
                self._finish_playback(playback_id)
        if chan.bridge is not None:
            self._leave_bridge(chan)
        for name, recording in list(self.live.items()):  # hanging up ends the channel's recording
            if recording["target_uri"] == f"channel:{chan.id}":
                self._finish_recording(name)
        if chan.in_stasis:
            chan.in_stasis = False
            self._emit("StasisEnd", chan, channel=dict(chan.snapshot))
        self._emit("ChannelDestroyed", chan, cause=cause, cause_txt=CAUSE_TEXT.get(cause, "Unknown"),
                   channel=dict(chan.snapshot))
        self._device_state(chan, "NOT_INUSE")
        del self.channels[chan.id]
        self.gone[chan.id] = {**chan.snapshot, "cause": cause}
        for snoop_id, snoop in list(self.snoops.items()):
            if snoop["target"] == chan.id and snoop_id in self.channels:
                self._destroy(self.channels[snoop_id], 16)

    def _leave_bridge(self, chan: Chan) -> None:
        bridge = self.bridges[chan.bridge]
        bridge["channels"].remove(chan.id)
        chan.bridge = None
        self._emit("ChannelLeftBridge", chan, bridge=dict(bridge), channel=dict(chan.snapshot))

    def _finish_playback(self, playback_id: str) -> None:
        """The playback ended (played out, stopped, or its channel gone): PlaybackFinished."""
        playback = self.playbacks.pop(playback_id, None)
        if playback is not None:
            self._emit("PlaybackFinished", None, playback={**playback, "state": "done"})

    def _finish_recording(self, name: str) -> None:
        recording = self.live.pop(name)
        timer, started = recording.pop("timer", None), recording.pop("started", None)
        recording.pop("terminate_on", None)
        if timer is not None:
            timer.cancel()
        if started is None:  # a bridge's: a conversation
            self.stored[name] = silent_wav()
            recording.update(state="done", duration=1)
        else:  # a channel's: what the caller said meanwhile
            seconds = real_monotonic() - started
            self.stored[name] = self.caller_audio if self.caller_audio is not None else tone_wav(seconds)
            recording.update(state="done", duration=int(seconds))
        self._emit("RecordingFinished", None, recording=recording)

    # ---- the websocket ----

    async def _events_socket(self, request: web.Request) -> web.StreamResponse:
        query = {k: ",".join(request.query.getall(k)) for k in request.query}
        if self._check_auth(request):
            return self._unauthorized(request, Request("GET", "/events", query, None))
        problems = self.spec.check_request("GET", "/events", query, None)
        self.requests.append(Request("GET", "/events", query, None, 400 if problems else 101))
        if problems:
            self.violations += problems
            return web.json_response({"message": "; ".join(problems)}, status=400)
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        outbox: asyncio.Queue = asyncio.Queue()
        if self._outbox is not None and (self.allowed is None or "ApplicationReplaced" in self.allowed):
            # As Asterisk does: the app's events go to the newest connection; the one before is told
            # so (through the app's event filter) and left open.
            replaced = self._event("ApplicationReplaced")
            self.events.append(replaced)
            self._outbox.put_nowait(replaced)
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
            self.socket_closed_at.append(len(self.requests))  # how many requests came before
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

    def _unauthorized(self, request: web.Request, entry: Request) -> web.Response:
        """As Asterisk answers wrong or missing credentials: 401 with a Basic challenge."""
        self.violations += self._check_auth(request)
        entry.status = 401
        self.requests.append(entry)
        return web.json_response({"message": "Authentication required"}, status=401,
                                 headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'})

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        # As sent: a path value may hold an encoded slash (GET /deviceStates/Local%2F101@phones).
        path = request.raw_path.split("?", 1)[0].removeprefix("/ari")
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
        if self._check_auth(request):
            return self._unauthorized(request, entry)
        self.requests.append(entry)
        problems = self.spec.check_request(request.method, path, query, body)
        if problems:
            self.violations += problems
            entry.status = 400
            return web.json_response({"message": "; ".join(problems)}, status=400)
        op = self.spec.operation(request.method, path)
        handler = HANDLERS.get((op.method, op.path))
        if handler is None:
            self.violations.append(f"{op.method} {op.path}: documented, but the fake does not implement it")
            entry.status = 501
            return web.json_response({"message": "not implemented by the fake"}, status=501)
        values = [urllib.parse.unquote(v) for v in
                  re.match(re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.path)), path).groups()]
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
