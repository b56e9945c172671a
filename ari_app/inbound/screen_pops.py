"""A call's screen pops (H5): what the ringing users' browsers are told, and when. Which (user, event)
to send is decided by call_notes.Pops (pure); this builds each PopEvent from the session and sends it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ari_app.inbound.call_notes import Pops
from crm.pops.events import PopEvent

if TYPE_CHECKING:
    from ari_app.inbound.session import CallSession

log = logging.getLogger(__name__)


class CallPops:
    def __init__(self, session: CallSession) -> None:
        self._s = session
        self._pops = Pops()

    def pop(self, user_id: int | None, event: str, detail: str = "") -> None:
        """Open the call in this user's browser; `detail`: a transfer's (crm/pops/events.py)."""
        if self._s.d.pops is None or user_id is None:
            return
        sends = self._pops.sends(user_id, event)
        if len(sends) > 1:
            log.info("channel %s: %s taken, pops closed for users %s", self._s.call.channel_id,
                     self._s.call.caller_number, [whom for whom, _ in sends[1:]])
        self._send(sends, detail)

    def ended(self, keep: list[int] | None = None) -> None:
        """Close the pops that rang for the call for the users it left unanswered (all but `keep`, who
        ring on): "ended", its detail "hung_up" when the caller hung up, else "moved_on" (issue 20)."""
        if self._s.d.pops is None or not (sends := self._pops.ended(keep or ())):
            return
        why = "hung_up" if self._s.caller_gone.is_set() else "moved_on"
        log.info("channel %s: %s no longer rings for users %s (%s)", self._s.call.channel_id,
                 self._s.call.caller_number, [whom for whom, _ in sends], why)
        self._send(sends, why)

    def _send(self, sends: list[tuple[int, str]], detail: str) -> None:
        s = self._s
        assert s.d.pops is not None
        c, facts, queue = s.call, s._facts, s._last_queue
        number = c.called_number if s.direction == "outgoing" else c.caller_number
        entered_at = c.entered_at.timestamp() if c.entered_at is not None else None
        for whom, what in sends:
            s.d.pops.send(PopEvent(user_id=whom, event=what, channel_id=c.channel_id, direction=s.direction,
                                   number=number, counterparty_id=facts.counterparty_id if facts else None,
                                   name=facts.display_name if facts else "", detail=detail,
                                   queue_id=queue.id if queue is not None else None, entered_at=entered_at))
