"""Two things a call keeps about itself on the side, apart from its route: whose browsers popped it
(`Pops`: when a colleague answers, or the call ends or moves on, the pops that rang close), and how
long the CRM held it before its first phone rang (`FirstDial`: the profile `make bench` reads from
the log). Pure but the log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection

log = logging.getLogger(__name__)


class Pops:
    """Whose browsers popped one call as ringing (H5)."""

    def __init__(self) -> None:
        self._rung: set[int] = set()

    def sends(self, user_id: int, event: str) -> list[tuple[int, str]]:
        """(user, event) of each pop to send for `event` to `user_id`: when one answers, the others
        whose pops rang for the call are told it is "taken" (and close theirs)."""
        if event == "ringing":
            self._rung.add(user_id)
            return [(user_id, event)]
        others: set[int] = set()
        if event == "answered":
            others, self._rung = self._rung - {user_id}, set()
        return [(user_id, event)] + [(other, "taken") for other in sorted(others)]

    def ended(self, keep: Collection[int] = ()) -> list[tuple[int, str]]:
        """(user, "ended") for each user whose pop rang for the call and no longer rings: the caller
        hung up, or the call moved on (voicemail, a callback, another queue, the next member).
        `keep`: the users ringing on (a ring-all queue's next round rings the same members)."""
        gone = self._rung - set(keep)
        self._rung -= gone
        return [(user_id, "ended") for user_id in sorted(gone)]


class FirstDial:
    """When the call reached the app, how long its lookup took, and when its first phone rang."""

    def __init__(self) -> None:
        self.received: dt.datetime | None = None
        self.lookup_ms = float("nan")
        self.at: dt.datetime | None = None

    def dialled(self, channel_id: str, entered_at: dt.datetime | None, now: dt.datetime) -> None:
        """The first dial (later ones change nothing): logged with where the time went."""
        if self.at is not None or entered_at is None:
            return
        self.at = now
        ms = (now - entered_at).total_seconds() * 1000
        delivery = (self.received - entered_at).total_seconds() * 1000 if self.received else float("nan")
        # The breakdown is the profile `make bench` quotes: where the time between the two goes.
        log.info("channel %s: first dial %.2f ms after StasisStart (event delivery %.2f, lookup %.2f, "
                 "rest %.2f ms)", channel_id, ms, delivery, self.lookup_ms, ms - delivery - self.lookup_ms)
