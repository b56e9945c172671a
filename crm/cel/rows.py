"""A call built from CEL as the call log writes it: a new row for a call the app did not log,
or the missing end of a row the app left unfinished (it died mid-call). Pure.

Who is who comes from the CRM (a Directory, read once per batch): the phone a call was
placed from or answered on is a user's by its endpoint - the user's dial string, or
PJSIP/<extension>; the line by trunk and dialled number. The client is found by the far
end's number in SQL, as the app's rows find it (crm/cel/queries.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crm.calls import route
from crm.calls.channels import node_of
from crm.calls.route import Outcome
from crm.calls.status import status_after
from crm.cel.facts import CallFacts, ChannelEnd
from crm.dialing.technology import default_dial
from crm.lines.model import did_key, trunk_of
from crm.phones import caller_match_key

# The dialplan's default queue (dialplan/pbxcrm.conf): where calls go without the app.
DEFAULT_QUEUE_CONTEXT = "pbxcrm-default-queue"


@dataclass(frozen=True)
class Directory:
    phones: Mapping[str, int] = field(default_factory=dict)  # endpoint (PJSIP/103) -> user id
    extensions: Mapping[str, int] = field(default_factory=dict)  # "103" -> user id
    names: Mapping[int, str] = field(default_factory=dict)  # user id -> full name
    lines: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (trunk, did_key) -> line id
    default_queue_id: int | None = None


def directory_of(users: Iterable[tuple[int, str | None, str | None, str]], lines: Iterable[tuple[int, str, str]],
                 default_queue_id: int | None) -> Directory:
    """`users`: (id, extension, dial string or None, full name); `lines`: (id, trunk, DID)."""
    phones: dict[str, int] = {}
    extensions: dict[str, int] = {}
    names: dict[int, str] = {}
    for user_id, extension, dial, name in users:
        names[user_id] = name
        if not extension:
            continue
        extensions.setdefault(extension, user_id)
        for endpoint in (default_dial(extension), _endpoint_of_dial(dial)):
            if endpoint:
                phones.setdefault(endpoint, user_id)
    return Directory(phones, extensions, names, {(trunk, did_key(did)): line_id for line_id, trunk, did in lines},
                     default_queue_id)


def _endpoint_of_dial(dial: str | None) -> str | None:
    """The endpoint a dial string's channels are named after: SIP/1001, Local/103@phones; None for
    a number dialled through a trunk (PJSIP/7916...@trunk), whose channels are the trunk's."""
    if not dial:
        return None
    dial = dial.removesuffix("/n")
    if "@" in dial and not dial.startswith("Local/"):
        return None
    return dial


@dataclass(frozen=True)
class CallRow:
    channel_id: str
    linked_id: str
    direction: str
    caller_number: str
    caller_normalized: str | None
    caller_name: str
    called_number: str
    called_normalized: str | None
    line: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime
    status: str
    hangup_cause: int | None
    operator_user_id: int | None
    caller_user_id: int | None
    line_id: int | None
    queue_id: int | None
    route: str  # calls.route as JSON
    node: str | None = None  # the PBX node it came in on (issue 26), from its uniqueid


@dataclass(frozen=True)
class Completion:
    """The end of a row the app started and never finished."""

    channel_id: str
    ended_at: dt.datetime
    hangup_cause: int | None
    status: str
    answered_at: dt.datetime | None
    operator_user_id: int | None


@dataclass(frozen=True)
class LoggedRow:
    """A row already in the call log (the app's, or one built from CEL before)."""

    channel_id: str
    linked_id: str | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    operator_user_id: int | None


@dataclass
class Plan:
    rows: list[CallRow] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)


def plan(calls: Sequence[CallFacts], logged: Iterable[LoggedRow], directory: Directory, region: str) -> Plan:
    """New rows for the calls nobody logged; the ends of logged rows that have none. A call is the
    app's when it logged any of its channels or its linkedid: never a second row for it."""
    by_channel = {r.channel_id: r for r in logged}
    by_linkedid: dict[str, list[LoggedRow]] = {}
    for r in by_channel.values():
        if r.linked_id:
            by_linkedid.setdefault(r.linked_id, []).append(r)
    out = Plan()
    for facts in calls:
        ends = {**facts.ends, facts.channel_id: ChannelEnd(facts.ended_at, facts.hangup_cause)}
        theirs = {r.channel_id: r for r in by_linkedid.get(facts.linkedid, [])}
        theirs.update((c, by_channel[c]) for c in ends if c in by_channel)
        if not theirs:
            if facts.called_number.startswith("*"):
                continue  # a phone's feature code (*72 log in, ari_app/agents.py): no call to log
            out.rows.append(call_row(facts, directory, region))
            continue
        for r in theirs.values():
            end = ends.get(r.channel_id)
            if r.ended_at is None and end is not None:
                out.completions.append(_completion(r, end, facts, directory))
    return out


def call_row(facts: CallFacts, directory: Directory, region: str) -> CallRow:
    caller_user = directory.phones.get(facts.line)
    operator: int | None
    if caller_user is not None:
        direction = "internal" if facts.called_number in directory.extensions else "outgoing"
        operator = caller_user
    else:
        direction = "incoming"
        operator = directory.phones.get(facts.answered_by) if facts.answered_by else None
    line_id = directory.lines.get((trunk_of(facts.line), did_key(facts.called_number))) \
        if direction == "incoming" else None
    via_queue = DEFAULT_QUEUE_CONTEXT in facts.contexts
    steps = [_from_cel_step()]
    if via_queue and direction == "incoming":
        if facts.answered_at is not None:
            name = directory.names.get(operator) if operator is not None else None
            outcome = Outcome("answered_by", {"name": name or facts.answered_by,
                                              "seconds": round((facts.answered_at - facts.started_at).total_seconds())})
        else:
            outcome = Outcome("caller_gone", {"seconds": round((facts.ended_at - facts.started_at).total_seconds())})
        steps.append(route.step("queue", "dialplan", outcome))
    return CallRow(
        channel_id=facts.channel_id, linked_id=facts.linkedid, direction=direction,
        caller_number=facts.caller_number, caller_normalized=_match_key(facts.caller_number, region),
        caller_name=facts.caller_name, called_number=facts.called_number,
        called_normalized=_match_key(facts.called_number, region), line=facts.line,
        started_at=facts.started_at, answered_at=facts.answered_at, ended_at=facts.ended_at,
        status=status_after(facts.answered_at is not None, facts.hangup_cause), hangup_cause=facts.hangup_cause,
        operator_user_id=operator, caller_user_id=caller_user, line_id=line_id,
        queue_id=directory.default_queue_id if via_queue else None, route=json.dumps(steps),
        node=node_of(facts.channel_id))


# A batch has thousands of calls to a few DIDs from numbers that call again: parse each once.
_match_key = functools.lru_cache(maxsize=65536)(caller_match_key)


@functools.cache
def _from_cel_step() -> dict:
    """"Asterisk logged the call itself...": the same first step of every call from CEL."""
    return route.step("note", "asterisk", Outcome("from_cel"))


def _completion(row: LoggedRow, end: ChannelEnd, facts: CallFacts, directory: Directory) -> Completion:
    answered_at, operator = row.answered_at, row.operator_user_id
    if row.channel_id == facts.channel_id and answered_at is None and facts.answered_at is not None:
        answered_at = facts.answered_at
        operator = operator or directory.phones.get(facts.answered_by or "")
    return Completion(row.channel_id, end.ended_at, end.cause, status_after(answered_at is not None, end.cause),
                      answered_at, operator)
