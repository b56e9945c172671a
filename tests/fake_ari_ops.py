"""The ARI operations the fake (tests/fake_ari.py) implements, by documented method and path.

Each takes the fake, the path's values, the query (q) and the JSON body, changes
the fake's model of Asterisk, and answers (status, body) as Asterisk does.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from tests.ari_spec import ari_time
from tests.fast_clock import real_monotonic

if TYPE_CHECKING:
    from tests.fake_ari import FakeAri

# DELETE /channels/{id}?reason=... as the Q.850 cause the channel ends with.
REASON_CAUSE = {"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 19, "rejected": 21,
                "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
                "interworking": 127, "failure": 38, "answered_elsewhere": 26}


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
    for name, value in ((body or {}).get("variables") or {}).items():
        _write_variable(f, chan, name, value["value"] if isinstance(value, dict) else value)
    if endpoint == "Local/s@pbxcrm-store" and not q.get("app"):
        # Our dialplan's [pbxcrm-store]: Set(DB(pbxcrm/<key>)=<value>), then the channel hangs up.
        f.astdb[chan.variables["PBXCRM_KEY"]] = chan.variables.get("PBXCRM_VALUE", "")
        asyncio.get_running_loop().call_soon(lambda: chan.id in f.channels and f._destroy(chan, 16))
        return 200, dict(chan.snapshot)
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


def _snoop(f: FakeAri, channel_id, q, body):
    """A Snoop/ channel on the target, Up, put into the app with appArgs (the target need not be
    in Stasis: Asterisk snoops on any channel)."""
    target = f.channels.get(channel_id)
    if target is None:
        return 404, "Channel not found"
    directions = ("none", "both", "out", "in")
    if q.get("spy", "none") not in directions or q.get("whisper", "none") not in directions:
        return 400, "Invalid direction specified"
    if q.get("spy", "none") == "none" and q.get("whisper", "none") == "none":
        return 400, "Sn00p needs something to do"
    snoop_id = q.get("snoopId") or f"{time.time():.0f}.{next(f._seq)}"
    if snoop_id in f.channels:
        return 409, "Channel with given unique ID already exists"
    if q.get("app") != f.app:
        f.violations.append(f"snoop into another app {q.get('app')!r}")
    chan = f._new_channel(snoop_id, f"Snoop/{channel_id}-{next(f._seq):08x}", "Up",
                          caller={"name": "", "number": ""})
    chan.ours, chan.app_args = True, q.get("appArgs", "")
    f.snoops[snoop_id] = {"target": channel_id, "spy": q.get("spy", "none"), "whisper": q.get("whisper", "none")}
    asyncio.get_running_loop().call_soon(lambda: snoop_id in f.channels and f._enter_stasis(
        chan, chan.app_args, context="default", exten="s"))
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


def _write_variable(f: FakeAri, chan, name: str, value: str) -> None:
    """As pbx_builtin_setvar_helper: NAME() writes a function; PJSIP_TRANSFER_HANDLING only on PJSIP."""
    if name == "PJSIP_TRANSFER_HANDLING()":
        if not chan.snapshot["name"].startswith("PJSIP/"):
            f.violations.append(f"PJSIP_TRANSFER_HANDLING written on non-PJSIP channel {chan.snapshot['name']}")
            return
        if value not in ("", "core", "ari-only"):
            f.violations.append(f"PJSIP_TRANSFER_HANDLING: unknown mode {value!r}")
            return
        chan.transfers_to_app = value == "ari-only"
    chan.variables[name] = value


def _set_variable(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    _write_variable(f, chan, q["variable"], q.get("value", ""))
    return 204, None


# transfer_progress states as Asterisk echoes them on the ChannelTransfer event (ast_channel_transfer_state2str).
TRANSFER_STATES = {"channel_progress": "channel_progress", "channel_answered": "channel_answered",
                   "channel_unavailable": "channel_declined", "channel_declined": "channel_declined"}


def _transfer_progress(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    state = TRANSFER_STATES.get(q["states"].lower())
    if state is None:
        return 400, "Invalid states value"
    f.transfer_progress.append((channel_id, q["states"]))
    refer = f.refers.get(channel_id)
    if refer is not None:  # the phone gets its NOTIFY; the app the event again, with the state
        f._emit("ChannelTransfer", chan, **refer, state=state)
    return 204, None


def _bridge_moh(playing: bool):
    def handler(f: FakeAri, bridge_id, q, body):
        bridge = f.bridges.get(bridge_id)
        if bridge is None:
            return 404, "Bridge not found"
        f.bridge_moh[bridge_id] = q.get("mohClass", "default") if playing else None
        return 204, None
    return handler


def _play(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    # Sounds in `lang` if given, else in the channel's language, as Asterisk picks them.
    playback = {"id": q.get("playbackId") or f"playback-{next(f._seq)}", "media_uri": q["media"].split(",")[0],
                "target_uri": f"channel:{channel_id}", "language": q.get("lang") or chan.snapshot["language"],
                "state": "queued"}
    if playback["id"] in f.playbacks:
        return 409, "Playback with this id already exists"
    f.playbacks[playback["id"]] = {**playback, "state": "playing"}
    f._emit("PlaybackStarted", chan, playback={**playback, "state": "playing"})
    seconds = f.playback_lengths.get(playback["media_uri"], f.playback_seconds)
    asyncio.get_running_loop().call_later(seconds, f._finish_playback, playback["id"])
    return 201, playback


def _stop_playback(f: FakeAri, playback_id, q, body):
    if playback_id not in f.playbacks:
        return 404, "Playback not found"
    f._finish_playback(playback_id)
    return 204, None


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


def _record_channel(f: FakeAri, channel_id, q, body):
    chan, error = f._chan(channel_id)
    if error:
        return error
    if f.refuse_recording is not None:
        return f.refuse_recording
    name = q["name"]
    if name in f.live or (name in f.stored and q.get("ifExists", "fail") == "fail"):
        return 409, "A recording with the same name already exists on the system"
    recording = {"name": name, "format": q["format"], "target_uri": f"channel:{channel_id}", "state": "recording"}
    f._emit("RecordingStarted", None, recording=dict(recording))
    terminate = q.get("terminateOn", "none")
    f.live[name] = {**recording, "started": real_monotonic(),
                    "terminate_on": "0123456789*#" if terminate == "any" else "" if terminate == "none" else terminate}
    limit = int(q.get("maxDurationSeconds", 0))
    if limit > 0:  # Asterisk stops it at its longest length
        f.live[name]["timer"] = asyncio.get_running_loop().call_later(
            limit, lambda: name in f.live and f._finish_recording(name))
    return 201, recording


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
    key = resource if technology == "PJSIP" else f"{technology}/{resource}"  # add_phone("SIP/1001") for others
    if key not in f.endpoints:
        return 404, "Endpoint not found"
    ids = [c.id for c in f.channels.values() if c.snapshot["name"].startswith(f"{technology}/{resource}-")]
    return 200, {"technology": technology, "resource": resource, "state": f.endpoints[key],
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


def _unsubscribe(f: FakeAri, app, q, body):
    if app != f.app or not f.registered:
        return 404, "Application not found"
    sources = q["eventSource"].split(",")
    if any(source not in f.subscriptions for source in sources):
        return 409, "Application not subscribed to event source"
    f.subscriptions.difference_update(sources)
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


# ---- what `pbxcrm doctor` asks (pbxcrm/doctor/gather.py) ----

def _checked(f: FakeAri, model: str, obj, status: int = 200):
    """An answer checked against its documented model, as the events are."""
    for one in obj if isinstance(obj, list) else [obj]:
        f.violations += [f"fake answered a bad {model}: {p}" for p in f.spec.check_model(model, one)]
    return status, obj


def _asterisk_info(f: FakeAri, q, body):
    started = ari_time()
    return _checked(f, "AsteriskInfo", {
        "build": {"os": "Linux", "kernel": "unknown", "machine": "unknown", "options": "OPTIONAL_API",
                  "date": "2026-07-20 21:35:32 UTC", "user": "nobody"},
        "system": {"version": f.version, "entity_id": "02:42:ac:11:00:02"},
        "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
        "status": {"startup_time": started, "last_reload_time": started}})


def _ping(f: FakeAri, q, body):
    return _checked(f, "AsteriskPing", {"asterisk_id": "02:42:ac:11:00:02", "ping": "pong", "timestamp": ari_time()})


def _endpoints(f: FakeAri, q, body):
    listed = [key.split("/", 1) if "/" in key else ["PJSIP", key] for key in f.endpoints]
    return _checked(f, "Endpoint", [_endpoint(f, tech, resource, q, body)[1] for tech, resource in listed])


def _modules(f: FakeAri, q, body):
    return _checked(f, "Module", [{"name": name, "description": name, "use_count": 0, "status": "Running",
                                  "support_level": "core"} for name in sorted(f.modules)])


def _applications(f: FakeAri, q, body):
    return 200, [f.application()] if f._ws is not None else []


def _application(f: FakeAri, app, q, body):
    if app != f.app or not f.registered:
        return 404, "Application not found"
    return 200, f.application()


def _extension_pattern(extension: str) -> re.Pattern:
    """An extensions.conf pattern as a regex: _X Z N [..] . ! as Asterisk reads them."""
    if not extension.startswith("_"):
        return re.compile(re.escape(extension) + "$")
    out, body, i = [], extension[1:], 0
    while i < len(body):
        char = body[i]
        if char == "[":
            end = body.index("]", i)
            out.append("[" + body[i + 1:end].replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(char.upper(), re.escape(char)))
        i += 1
    return re.compile("".join(out) + "$")


def _device_state(f: FakeAri, name, q, body):
    """Local/<exten>@<context>: INVALID unless the fake's dialplan has a matching extension (chan_local's
    rule); PJSIP/<endpoint>: as its phone is; anything else UNKNOWN."""
    technology, _, resource = name.partition("/")
    if technology == "Local":
        exten, _, context = resource.partition("@")
        found = any(_extension_pattern(e).match(exten) for e in f.dialplan.get(context.split("/")[0], ()))
        state = "NOT_INUSE" if found else "INVALID"
    elif technology == "PJSIP":
        state = "NOT_INUSE" if resource in f.endpoints else "INVALID"
    else:
        state = "UNKNOWN"
    return _checked(f, "DeviceState", {"name": name, "state": state})


def _get_global(f: FakeAri, q, body):
    name = q["variable"]
    value = str(int(time.time() + f.clock_skew)) if name == "EPOCH" else f.globals.get(name, "")
    return _checked(f, "Variable", {"value": value})


def _config_object(f: FakeAri, config_class, object_type, object_id, q, body):
    if (config_class, object_type) != ("res_pjsip", "endpoint") or object_id not in f.endpoints:
        return 404, f"Object with id '{object_id}' not found"
    return _checked(f, "ConfigTuple", [{"attribute": "context", "value": f.endpoint_contexts.get(object_id, "default")},
                                      {"attribute": "aors", "value": object_id}])


HANDLERS = {
    ("GET", "/asterisk/info"): _asterisk_info,
    ("GET", "/asterisk/ping"): _ping,
    ("GET", "/endpoints"): _endpoints,
    ("GET", "/asterisk/modules"): _modules,
    ("GET", "/asterisk/variable"): _get_global,
    ("GET", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}"): _config_object,
    ("GET", "/applications"): _applications,
    ("GET", "/applications/{applicationName}"): _application,
    ("GET", "/deviceStates/{deviceName}"): _device_state,
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
    ("POST", "/channels/{channelId}/record"): _record_channel,
    ("DELETE", "/playbacks/{playbackId}"): _stop_playback,
    ("POST", "/channels/{channelId}/variable"): _set_variable,
    ("POST", "/channels/{channelId}/snoop"): _snoop,
    ("POST", "/channels/{channelId}/transfer_progress"): _transfer_progress,
    ("POST", "/bridges/{bridgeId}/moh"): _bridge_moh(True),
    ("DELETE", "/bridges/{bridgeId}/moh"): _bridge_moh(False),
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
    ("DELETE", "/applications/{applicationName}/subscription"): _unsubscribe,
    ("PUT", "/applications/{applicationName}/eventFilter"): _event_filter,
    ("POST", "/asterisk/variable"): _set_global,
}
