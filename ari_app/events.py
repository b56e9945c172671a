"""Parsing ARI event payloads into the facts the services need."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from crm.lines.model import line_of


def parse_ari_time(value: str | None) -> dt.datetime:
    """ARI's timestamps look like 2026-11-22T18:46:49.123+0000."""
    if not value:
        return dt.datetime.now(dt.timezone.utc)
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass(frozen=True)
class ChannelEntered:
    """A channel that entered our Stasis app (StasisStart)."""

    channel_id: str
    linked_id: str | None
    caller_number: str
    caller_name: str
    called_number: str
    line: str
    started_at: dt.datetime
    args: tuple[str, ...]
    # When Asterisk put the channel in our app (the StasisStart's timestamp).
    entered_at: dt.datetime | None = None
    # The channel's language: the line's if its endpoint or the dialplan set one (ari_app/caller_language.py).
    language: str = ""
    # The dialplan context it entered Stasis from (the default queue's: offered again after the app was away).
    context: str = ""

    @property
    def purpose(self) -> str:
        return self.args[0] if self.args else ""

    @classmethod
    def from_event(cls, event: dict) -> "ChannelEntered":
        call = cls.from_channel(event["channel"], tuple(event.get("args") or ()))
        return dataclasses.replace(call, entered_at=parse_ari_time(event.get("timestamp")))

    @classmethod
    def from_channel(cls, channel: dict, args: tuple[str, ...]) -> "ChannelEntered":
        dialplan = channel.get("dialplan") or {}
        caller = channel.get("caller") or {}
        # The dialplan passes the dialled number as the second argument; the
        # channel's own extension is the fallback.
        called = args[1] if len(args) > 1 and args[1] else dialplan.get("exten", "")
        return cls(
            channel_id=channel["id"],
            linked_id=channel.get("linkedid"),
            caller_number=caller.get("number", ""),
            caller_name=caller.get("name", ""),
            called_number=called,
            line=line_of(channel.get("name", "")),
            started_at=parse_ari_time(channel.get("creationtime")),
            args=args,
            language=channel.get("language") or "",
            context=dialplan.get("context", ""),
        )
