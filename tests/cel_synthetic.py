"""CEL rows as Asterisk 22 writes them (the shapes seen in the sandbox's cel table), for the
reconciler's tests and bench/cel.py: calls through the dialplan's default queue, answered or
not, calls placed from a desk phone, an app's originated leg merged into its caller's call."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

CEL_TABLE_SQL = Path(__file__).resolve().parents[1] / "asterisk-conf" / "cel_pgsql.sql"
FIELDS = ("eventtype", "eventtime", "cid_name", "cid_num", "cid_dnid", "exten", "context", "channame", "appname",
          "appdata", "uniqueid", "linkedid", "peer", "extra")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@dataclass
class Channel:
    uniqueid: str
    linkedid: str
    name: str
    cid_num: str
    cid_name: str = ""
    exten: str = "s"
    context: str = ""


@dataclass
class Cel:
    """Rows in id order; times in UTC (written naive, as cel_pgsql with usegmtime does)."""

    next_id: int = 1
    rows: list[dict] = field(default_factory=list)
    _seq: int = 0

    def channel(self, name: str, cid_num: str, *, linkedid: str | None = None, exten: str = "s",
                context: str = "", at: dt.datetime = T0, cid_name: str = "", uniqueid: str | None = None) -> Channel:
        uniqueid = uniqueid or f"{int(at.timestamp())}.{self._seq}"
        self._seq += 1
        return Channel(uniqueid, linkedid or uniqueid, f"{name}-{self._seq:08x}", cid_num, cid_name, exten, context)

    def event(self, kind: str, at: dt.datetime, ch: Channel, **extra_fields) -> dict:
        row = {"id": self.next_id, "eventtype": kind, "eventtime": at.astimezone(dt.timezone.utc).replace(tzinfo=None),
               "cid_name": ch.cid_name, "cid_num": ch.cid_num, "cid_dnid": "", "exten": ch.exten,
               "context": ch.context, "channame": ch.name, "appname": "", "appdata": "", "uniqueid": ch.uniqueid,
               "linkedid": ch.linkedid, "peer": "", "extra": ""}
        row.update(extra_fields)
        self.next_id += 1
        self.rows.append(row)
        return row

    def hangup(self, at: dt.datetime, ch: Channel, cause: int = 16) -> None:
        self.event("HANGUP", at, ch, extra=json.dumps({"hangupcause": cause, "hangupsource": ch.name,
                                                       "dialstatus": ""}))
        self.event("CHAN_END", at, ch)

    def fallback_call(self, caller: str, at: dt.datetime, *, called: str = "74957654321", phone: str | None = "103",
                      ring: float = 0.5, talk: float = 2.0, wait: float = 3.0) -> Channel:
        """A trunk call the dialplan's default queue sends to `phone` (None: nobody answers; the caller
        hangs up after `wait` s). The same events, in the same order, as the sandbox writes."""
        s = dt.timedelta(seconds=1)
        caller_ch = self.channel("PJSIP/trunk", caller, exten=called, context="sandbox-from-trunk", at=at,
                                 cid_name=caller)
        self.event("CHAN_START", at, caller_ch)
        self.event("APP_START", at, caller_ch, appname="Stasis", appdata=f"pbxcrm,inbound,{called}", cid_dnid=called)
        caller_ch.exten, caller_ch.context = "s", "pbxcrm-default-queue"
        self.event("ANSWER", at + 0.01 * s, caller_ch, appname="Answer", cid_dnid=called)
        self.event("APP_START", at + 0.5 * s, caller_ch, appname="Dial", appdata="PJSIP/103,20,m", cid_dnid=called)
        leg = self.channel(f"PJSIP/{phone or '103'}", phone or "103", linkedid=caller_ch.linkedid,
                           context="pbxcrm-phones", at=at)
        self.event("CHAN_START", at + 0.5 * s, leg)
        if phone is None:
            end = at + wait * s
            self.hangup(end, leg, cause=16)
            self.hangup(end, caller_ch, cause=16)
            self.event("LINKEDID_END", end, caller_ch)
            return caller_ch
        answered = at + (0.5 + ring) * s
        bridge = json.dumps({"bridge_id": f"b-{caller_ch.uniqueid}", "bridge_technology": "simple_bridge"})
        self.event("ANSWER", answered, leg, appname="AppDial")
        self.event("BRIDGE_ENTER", answered, leg, appname="AppDial", extra=bridge)
        self.event("BRIDGE_ENTER", answered, caller_ch, appname="Dial", peer=leg.name, extra=bridge, cid_dnid=called)
        end = answered + talk * s
        self.event("BRIDGE_EXIT", end, caller_ch, appname="Dial", peer=leg.name, extra=bridge, cid_dnid=called)
        self.hangup(end, caller_ch)
        self.event("BRIDGE_EXIT", end, leg, appname="AppDial", extra=bridge)
        self.hangup(end, leg)
        self.event("LINKEDID_END", end, leg)
        return caller_ch

    def placed_call(self, phone: str, number: str, at: dt.datetime, *, talk: float = 3.0) -> Channel:
        """A desk phone dials a number out through the trunk without the app (Stasis failed)."""
        s = dt.timedelta(seconds=1)
        phone_ch = self.channel(f"PJSIP/{phone}", phone, exten=number, context="pbxcrm-phones", at=at)
        self.event("CHAN_START", at, phone_ch)
        self.event("APP_START", at, phone_ch, appname="Dial", appdata=f"PJSIP/{number}@trunk,60")
        out = self.channel("PJSIP/trunk", number, linkedid=phone_ch.linkedid, at=at)
        self.event("CHAN_START", at + 0.1 * s, out)
        answered = at + 4 * s
        self.event("ANSWER", answered, out, appname="AppDial")
        self.event("BRIDGE_ENTER", answered, out)
        self.event("BRIDGE_ENTER", answered, phone_ch, peer=out.name)
        end = answered + talk * s
        self.hangup(end, phone_ch)
        self.hangup(end, out)
        self.event("LINKEDID_END", end, out)
        return phone_ch

    def app_call_with_leg(self, caller: str, at: dt.datetime, *, talk: float = 2.0,
                          leg_id: str | None = None) -> tuple[Channel, Channel]:
        """A call the Stasis app handled: it originates the operator's leg (its own linkedid; an id
        pbxcrm-<caller's>-<token> unless `leg_id` says), which takes the caller's (older) linkedid
        when bridged: Asterisk retires the leg's."""
        s = dt.timedelta(seconds=1)
        caller_ch = self.channel("PJSIP/trunk", caller, exten="74957654321", context="sandbox-from-trunk", at=at)
        self.event("CHAN_START", at, caller_ch)
        self.event("APP_START", at, caller_ch, appname="Stasis", appdata="pbxcrm,inbound,74957654321")
        leg = self.channel("PJSIP/103", "103", context="pbxcrm-phones", at=at + s,
                           uniqueid=leg_id or f"pbxcrm-{caller_ch.uniqueid}-{self._seq}")
        self.event("CHAN_START", at + 0.2 * s, leg)
        self.event("ANSWER", at + s, leg)
        self.event("LINKEDID_END", at + 1.1 * s, leg)  # the leg's own linkedid, retired when bridged
        old = leg.linkedid
        leg.linkedid = caller_ch.linkedid
        self.event("BRIDGE_ENTER", at + 1.1 * s, leg)
        self.event("BRIDGE_ENTER", at + 1.1 * s, caller_ch, peer=leg.name)
        end = at + (1.1 + talk) * s
        self.hangup(end, caller_ch)
        self.hangup(end, leg)
        self.event("LINKEDID_END", end, caller_ch)
        leg.linkedid = old
        return caller_ch, leg

    def app_rang_unanswered(self, caller_ch: Channel, at: dt.datetime, *, ring: float = 3.0) -> Channel:
        """A phone the Stasis app rang for a caller, that never answered: never bridged, so a
        call of its own linkedid in CEL."""
        leg = self.channel("PJSIP/102", "102", context="pbxcrm-phones", at=at,
                           uniqueid=f"pbxcrm-{caller_ch.uniqueid}-{self._seq}")
        self.event("CHAN_START", at, leg)
        self.hangup(at + ring * dt.timedelta(seconds=1), leg, cause=19)
        self.event("LINKEDID_END", at + ring * dt.timedelta(seconds=1), leg)
        return leg


async def make_cel_table(conn: asyncpg.Connection) -> None:
    await conn.execute(CEL_TABLE_SQL.read_text())


async def write_rows(conn: asyncpg.Connection, rows: list[dict], table: str = "cel") -> None:
    """Into the table as cel_pgsql would (its own ids, in order)."""
    await conn.copy_records_to_table(table, records=[tuple(r[f] for f in FIELDS) for r in rows], columns=FIELDS)
