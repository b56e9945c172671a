"""The pop event: what the ringing user's browser needs to open the call."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import asyncpg

from crm.pops import CHANNEL


@dataclass(frozen=True)
class PopEvent:
    user_id: int
    # "ringing" | "answered" | "taken" (a colleague answered: close the pop) | "ended" (it no longer rings
    # for this user, unanswered: close the pop) | "transferred" (away from this user) | "transfer_failed"
    event: str
    channel_id: str
    direction: str
    number: str
    counterparty_id: int | None
    name: str
    # A transfer's: whom the call went to ("transferred"), or why it did not ("transfer_failed");
    # an "ended"'s: "hung_up" (the caller) or "moved_on" (voicemail, a callback, elsewhere).
    detail: str = ""
    # The queue the call came through (None: straight to a manager, or placed): its call script (H5).
    queue_id: int | None = None
    # When the call entered the Stasis app (its StasisStart's timestamp, Unix seconds; None: not known):
    # how late a pop reaches the browser (`make bench`'s operators row, issue 25).
    entered_at: float | None = None

    def payload(self) -> str:
        return json.dumps(asdict(self))


async def notify(conn: asyncpg.Connection, event: PopEvent) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, event.payload())
