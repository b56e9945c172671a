"""One call's CEL events (one linkedid) -> what happened on the call. Pure.

A call is the channels that share a linkedid; its first channel (uniqueid = linkedid) is
the caller's - the trunk's channel of an incoming call, the phone's of one placed from a
desk phone. It started when that channel did and ended when it did. Someone took it when
another channel answered and was bridged with it: a phone the dialplan's default queue or
a Dial() rang (the caller's own ANSWER is the dialplan's Answer() for music, not a person).

A linkedid whose first channel ended under another linkedid was merged into an older call
(Asterisk gives bridged channels the oldest linkedid and retires the newer one): nothing to
log of it. Nor of a channel the Stasis app made (a phone it rang, a click-to-call): the app
logs the calls it makes. Nor of a call another PBX node put through to a phone of this one
(issue 26). Events whose times contradict each other are a clock that jumped: skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crm.calls.channels import APP_CHANNEL_PREFIXES, FROM_NODE_CONTEXT
from crm.cel.events import CelEvent
from crm.lines.model import line_of

# Channels that carry media into a bridge and are nobody: MOH announcers, recorders, snoops.
MEDIA_TECHNOLOGIES = frozenset({"Announcer", "Recorder", "Snoop", "CBAnn", "CBRec"})
# Events of one call on different threads may be stamped out of order by this much.
CLOCK_SLACK = dt.timedelta(seconds=2)
# Nobody calls for longer: a call that seems to is a clock that jumped.
LONGEST_CALL = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class ChannelEnd:
    ended_at: dt.datetime
    cause: int | None


@dataclass(frozen=True, slots=True)
class CallFacts:
    linkedid: str
    channel_id: str  # the first channel's uniqueid (= linkedid)
    line: str  # its endpoint: PJSIP/trunk
    caller_number: str
    caller_name: str
    called_number: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime
    answered_by: str | None  # the endpoint of the channel that took the call: PJSIP/103
    hangup_cause: int | None
    contexts: frozenset[str]  # the dialplan contexts the first channel went through
    ends: Mapping[str, ChannelEnd]  # every channel that ended in this call, by uniqueid


@dataclass(frozen=True, slots=True)
class Skipped:
    linkedid: str
    reason: str
    nothing_to_log: bool = False  # not garbage: merged into an older call, or the app's own channel


def technology_of(channel_name: str) -> str:
    return channel_name.partition("/")[0]


def facts_of(linkedid: str, events: Iterable[CelEvent]) -> CallFacts | Skipped:
    """The call of this linkedid from its events (any order; others' events are ignored)."""
    if linkedid.startswith(APP_CHANNEL_PREFIXES):
        return Skipped(linkedid, "a channel the app made: the app logs its calls", nothing_to_log=True)
    mine = sorted((e for e in events if e.linkedid == linkedid), key=lambda e: e.id)
    origin = [e for e in mine if e.uniqueid == linkedid]
    start = _first(origin, "CHAN_START")
    if start is None:
        return Skipped(linkedid, "no CHAN_START of its first channel (CEL was off, or rows are missing)")
    end = _first(origin, "CHAN_END") or _first(origin, "HANGUP")
    if end is None:
        return Skipped(linkedid, "its first channel ended in another call", nothing_to_log=True)
    started_at, ended_at = start.time, end.time
    if not started_at - CLOCK_SLACK <= ended_at <= started_at + LONGEST_CALL:
        return Skipped(linkedid, f"ended at {ended_at.isoformat()}, started at {started_at.isoformat()}: "
                                 "the clock jumped")
    if start.context == FROM_NODE_CONTEXT:
        return Skipped(linkedid, "another node's call to a phone of this node: that node logs it", nothing_to_log=True)
    ended_at = max(ended_at, started_at)
    answer = _answer(mine, linkedid)
    answered_at = answered_by = None
    if answer is not None:
        answered_at, answered_by = answer
        if not started_at - CLOCK_SLACK <= answered_at <= ended_at + CLOCK_SLACK:
            return Skipped(linkedid, f"answered at {answered_at.isoformat()}, outside {started_at.isoformat()} - "
                                     f"{ended_at.isoformat()}: the clock jumped")
        answered_at = min(max(answered_at, started_at), ended_at)
    called = start.exten if start.exten not in ("", "s") else next((e.cid_dnid for e in origin if e.cid_dnid), "")
    return CallFacts(
        linkedid=linkedid, channel_id=linkedid, line=line_of(start.channel), caller_number=start.cid_num,
        caller_name=start.cid_name if start.cid_name != start.cid_num else "", called_number=called,
        started_at=started_at, answered_at=answered_at, ended_at=ended_at, answered_by=answered_by,
        hangup_cause=_cause(_first(origin, "HANGUP")), contexts=frozenset(e.context for e in origin if e.context),
        ends=_ends(mine))


def _first(events: list[CelEvent], kind: str) -> CelEvent | None:
    return next((e for e in events if e.type == kind), None)


def _answer(events: list[CelEvent], origin_id: str) -> tuple[dt.datetime, str] | None:
    """(when, the endpoint of whom) another channel took the call: of the channels bridged in it
    the first to answer (or to be bridged, when its ANSWER came under another linkedid), else the
    first that answered at all (a cel.conf without bridge events)."""
    answered: dict[str, dt.datetime] = {}
    bridged: dict[str, dt.datetime] = {}
    names: dict[str, str] = {}
    for e in events:
        if e.uniqueid == origin_id or technology_of(e.channel) in MEDIA_TECHNOLOGIES:
            continue
        names.setdefault(e.uniqueid, e.channel)
        if e.type == "ANSWER":
            answered.setdefault(e.uniqueid, e.time)
        elif e.type == "BRIDGE_ENTER":
            bridged.setdefault(e.uniqueid, e.time)
    pool = {u: answered.get(u, t) for u, t in bridged.items()} or answered
    if not pool:
        return None
    who = min(pool, key=lambda u: pool[u])
    return pool[who], line_of(names[who])


def _ends(events: list[CelEvent]) -> dict[str, ChannelEnd]:
    causes = {e.uniqueid: _cause(e) for e in events if e.type == "HANGUP"}
    return {e.uniqueid: ChannelEnd(e.time, causes.get(e.uniqueid)) for e in events if e.type == "CHAN_END"}


def _cause(hangup: CelEvent | None) -> int | None:
    value = hangup.extra_field("hangupcause") if hangup is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
