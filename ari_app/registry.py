"""Which call a channel belongs to, and what a ringing phone shows of the caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ari_app.session import CallSession


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

    def __len__(self) -> int:
        return len(self._sessions)


def caller_id_text(name: str, number: str) -> str:
    """What the ringing phone shows (H3). Quotes and brackets would break the header."""
    clean = "".join(ch for ch in name if ch not in '"<>\\').strip()[:40]
    return f'"{clean}" <{number}>' if clean else number
