"""One row of Asterisk's CEL table, checked: a CelEvent, or the reason it is garbage. Pure.

Asterisk writes the rows (asterisk-conf/cel.conf, cel_pgsql.conf); anything else that can
write the table - a hand-made import, an older Asterisk, a backend with a clock that jumped -
can leave rows a call cannot be built from. Those are skipped, each with its reason, and
counted (crm/cel/reconciler.py); one bad row never stops the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Every event type Asterisk's CEL writes (cel.c's names); any other is garbage.
KNOWN_TYPES = frozenset({
    "CHAN_START", "CHAN_END", "HANGUP", "ANSWER", "APP_START", "APP_END", "PARK_START", "PARK_END",
    "USER_DEFINED", "BRIDGE_ENTER", "BRIDGE_EXIT", "BLINDTRANSFER", "ATTENDEDTRANSFER", "PICKUP", "FORWARD",
    "LINKEDID_END", "LOCAL_OPTIMIZE", "LOCAL_OPTIMIZE_BEGIN", "STREAM_BEGIN", "STREAM_END", "DTMF",
    # Older Asterisks' names of the bridge events.
    "BRIDGE_START", "BRIDGE_END", "BRIDGE_UPDATE", "CONF_START", "CONF_END", "CONF_ENTER", "CONF_EXIT",
    "3WAY_START", "3WAY_END", "TRANSFER", "HOOKFLASH",
})
# An event stamped this far ahead of the reader's clock cannot have happened yet: the clock jumped.
FUTURE_SLACK = dt.timedelta(hours=1)
# The columns read from the table, in this order.
COLUMNS = ("id", "eventtype", "eventtime", "uniqueid", "linkedid", "channame", "cid_num", "cid_name", "cid_dnid",
           "exten", "context", "appname", "peer", "extra")


@dataclass(frozen=True, slots=True)
class CelEvent:
    id: int
    type: str
    time: dt.datetime  # aware
    uniqueid: str
    linkedid: str
    channel: str  # the channel's name: PJSIP/trunk-0000001a
    cid_num: str
    cid_name: str
    cid_dnid: str
    exten: str
    context: str
    appname: str
    peer: str
    extra: str

    def extra_field(self, name: str) -> Any:
        """A field of the event's JSON `extra` (HANGUP's hangupcause...), or None."""
        if not self.extra or not self.extra.startswith("{"):
            return None
        try:
            value = json.loads(self.extra)
        except ValueError:
            return None
        return value.get(name) if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Garbage:
    id: int | None
    reason: str


def event_of(row: Mapping[str, Any], *, naive_zone: dt.tzinfo, now: dt.datetime) -> CelEvent | Garbage:
    """The row as an event, or why it is garbage. `naive_zone`: the zone of a time without one
    (cel_pgsql's `timestamp` column, UTC with usegmtime); `now`: the reader's clock, aware."""
    row_id = row.get("id")
    if not isinstance(row_id, int):
        return Garbage(None, f"no row id ({row_id!r})")
    kind = _text(row.get("eventtype"))
    if kind not in KNOWN_TYPES:
        return Garbage(row_id, f"unknown event type {kind[:40]!r}")
    linkedid, uniqueid = _text(row.get("linkedid")), _text(row.get("uniqueid"))
    if not linkedid:
        return Garbage(row_id, f"{kind} without a linkedid")
    if not uniqueid:
        return Garbage(row_id, f"{kind} without a uniqueid")
    time = _time(row.get("eventtime"), naive_zone)
    if time is None:
        return Garbage(row_id, f"{kind} without a usable event time ({row.get('eventtime')!r})")
    if time > now + FUTURE_SLACK:
        return Garbage(row_id, f"{kind} stamped {time.isoformat()}, in the future: the clock jumped")
    return CelEvent(row_id, kind, time, uniqueid, linkedid, _text(row.get("channame")), _text(row.get("cid_num")),
                    _text(row.get("cid_name")), _text(row.get("cid_dnid")), _text(row.get("exten")),
                    _text(row.get("context")), _text(row.get("appname")), _text(row.get("peer")),
                    _text(row.get("extra")))


def _text(value: Any) -> str:
    return value.strip() if value.__class__ is str else ""


def _time(value: Any, naive_zone: dt.tzinfo) -> dt.datetime | None:
    if isinstance(value, str):  # a text column: cel_pgsql writes "2026-11-30 09:44:12.390395"
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=naive_zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        # A numeric column: cel_pgsql writes the epoch seconds.
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None
