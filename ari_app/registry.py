"""Which call a channel belongs to, and what a ringing phone shows of the caller."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession


class CallRegistry:
    """Which session a channel (caller or ringing phone) belongs to."""

    def __init__(self) -> None:
        self._sessions: dict[str, CallSession] = {}

    def add(self, channel_id: str, session: "CallSession") -> None:
        self._sessions[channel_id] = session

    def remove(self, channel_id: str) -> None:
        self._sessions.pop(channel_id, None)

    def get(self, channel_id: str) -> "CallSession | None":
        return self._sessions.get(channel_id)

    def callers(self) -> list["CallSession"]:
        """The sessions held, once each (by their caller's channel, not their phones')."""
        return [s for channel_id, s in self._sessions.items() if channel_id == s.call.channel_id]

    def __len__(self) -> int:
        return len(self._sessions)


# Far beyond any phone's screen and any real name; keeps the INVITE one UDP datagram.
CALLER_NAME_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_NOT_IN_NUMBER = re.compile(r'[\s<>"\\]')


def caller_id_text(name: str, number: str) -> str:
    """What the ringing phone shows (H3): `"name" <number>` for ARI's originate.

    The name is kept whole, as a SIP quoted-string (RFC 3261 25.1): `"` and `\\` escaped
    with a backslash, `<`, `>` and the rest as they are. Asterisk unescapes it when it
    parses the caller ID and escapes it again in the INVITE's From. Line breaks and
    other control characters, which no header may carry, become spaces.
    """
    clean = " ".join(_CONTROL.sub(" ", name or "").split())[:CALLER_NAME_MAX].strip()
    number = _NOT_IN_NUMBER.sub("", number or "")
    if not clean:
        return number
    quoted = clean.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{number}>'
