"""Every write of the call log, in one service: the call flow tells it what happened
(a call started, a routing step, an answer, an end, a missed call's callback, a
recording stored, a callback request or voicemail) and it owns the retrying writer (ari_app/call_log.py) that puts it
in the database without ever holding up a call. The teardown's writes (the end, a missed call's callback task, the
legs' end) let the next call's routing go first (ari_app/call_path.py)."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from pathlib import Path

from ari_app.call_log import CallLogWriter
from ari_app.events import ChannelEntered
from crm.calls import queries as calls_q
from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.phones import caller_match_key
from crm.recordings import queries as rec_q
from crm.routing.decide import CallerFacts
from crm.tasks import callbacks
from crm.transfers import queries as transfers_q
from crm.voicemails import service as voicemails

log = logging.getLogger(__name__)


class CallRecords:
    def __init__(self, writer: CallLogWriter, *, region: str = DEFAULT_REGION, timezone: str = DEFAULT_TIMEZONE):
        self.writer = writer
        self._region = region
        self._timezone = timezone

    def call_started(self, call: ChannelEntered, *, direction: str, facts: CallerFacts | None,
                     caller_user_id: int | None, line_id: int | None = None) -> None:
        c = call
        self.writer.submit(c.channel_id, partial(
            calls_q.insert_call, channel_id=c.channel_id, direction=direction, caller_number=c.caller_number,
            caller_normalized=caller_match_key(c.caller_number, self._region), caller_name=c.caller_name,
            called_number=c.called_number, called_normalized=caller_match_key(c.called_number, self._region),
            line=c.line, started_at=c.started_at, linked_id=c.linked_id,
            counterparty_id=facts.counterparty_id if facts else None, caller_user_id=caller_user_id,
            owner_user_id=facts.manager.user_id if facts and facts.manager else None, line_id=line_id),
            "call start")

    def for_order(self, channel_id: str, order_id: int) -> None:
        """The call is made for this order (issue 22, H9): it links to it."""
        log.info("channel %s: made for order %d", channel_id, order_id)
        self.writer.submit(channel_id, partial(calls_q.set_order, channel_id=channel_id, order_id=order_id), "order")

    def for_shop_order(self, channel_id: str, shop_order_id: int) -> None:
        """The call is made from this shop order (issue 24): it links to it."""
        log.info("channel %s: made for shop order %d", channel_id, shop_order_id)
        self.writer.submit(channel_id, partial(calls_q.set_shop_order, channel_id=channel_id,
                                               shop_order_id=shop_order_id), "shop order")

    def step(self, channel_id: str, step: dict) -> None:
        """One step of the call's route: what was tried and what came of it."""
        log.info("channel %s: %s %s", channel_id, step["target"], step["result"])
        self.writer.submit(channel_id, partial(calls_q.append_route_step, channel_id=channel_id, step=step),
                           "route step")

    def queued(self, channel_id: str, queue_id: int) -> None:
        """The call waits in this queue now: the last queue it waited in holds a stranger's callback task."""
        self.writer.submit(channel_id, partial(calls_q.mark_queued, channel_id=channel_id, queue_id=queue_id,
                                               queued_at=_now()), "queue")

    def left_queue(self, channel_id: str) -> None:
        """Nobody in its queue took the call: it no longer waits there (the wallboard)."""
        self.writer.submit(channel_id, partial(calls_q.mark_left_queue, channel_id=channel_id, left_at=_now()),
                           "queue left")

    def ringing(self, channel_id: str, user_ids: list[int]) -> None:
        """These users' phones ring for the call now (empty: none any more), for the wallboard."""
        self.writer.submit(channel_id, partial(calls_q.mark_ringing, channel_id=channel_id, user_ids=user_ids,
                                               at=_now()), "ringing")

    def answered(self, channel_id: str, *, operator_user_id: int | None, queue_id: int | None) -> None:
        self.writer.submit(channel_id, partial(
            calls_q.mark_answered, channel_id=channel_id, answered_at=_now(), operator_user_id=operator_user_id,
            queue_id=queue_id), "answer")

    def leg_started(self, channel_id: str, *, user_id: int | None, name: str, number: str = "", how: str = "answered",
                    transferred_by: int | None = None) -> None:
        """Someone on our side began talking on the call (its first answer, or a transfer put through)."""
        self.writer.submit(channel_id, partial(
            transfers_q.start_leg, channel_id=channel_id, user_id=user_id, name=name, number=number, how=how,
            transferred_by=transferred_by, answered_at=_now()), "call leg")

    def leg_ended(self, channel_id: str) -> None:
        self.writer.submit(channel_id, partial(transfers_q.end_legs, channel_id=channel_id, ended_at=_now()),
                           "call leg end", after_call=True)

    def ended(self, channel_id: str, *, ended_at: dt.datetime, cause: int | None) -> None:
        self.writer.submit(channel_id, partial(
            calls_q.mark_ended, channel_id=channel_id, ended_at=ended_at, hangup_cause=cause), "call end",
            after_call=True)

    def missed(self, channel_id: str) -> None:
        """After the end: a callback task when the call was a missed one."""
        self.writer.submit(channel_id, partial(
            callbacks.create_for_missed_call, channel_id=channel_id, timezone=self._timezone, region=self._region),
            "callback task", after_call=True)

    def caller_left(self, channel_id: str, status: str) -> None:
        """Nobody talked, but the caller left something: 'callback' or 'voicemail' (before the end's write)."""
        self.writer.submit(channel_id, partial(calls_q.mark_caller_left, channel_id=channel_id, status=status),
                           "call status")

    def callback_requested(self, channel_id: str, *, queue_id: int | None) -> None:
        """The caller pressed 1: the call's status, and a callback task."""
        self.writer.submit(channel_id, partial(
            voicemails.callback_requested, channel_id=channel_id, timezone=self._timezone, queue_id=queue_id,
            region=self._region), "callback request")

    def voicemail_kept(self, channel_id: str, *, path: Path, fmt: str, seconds: float, size: int,
                       queue_id: int | None) -> None:
        self.writer.submit(channel_id, partial(
            voicemails.voicemail_kept, channel_id=channel_id, path=str(path.resolve()), fmt=fmt, seconds=seconds,
            size=size, queue_id=queue_id, timezone=self._timezone, region=self._region), "voicemail")

    def recording_stored(self, channel_id: str, *, path: Path, fmt: str, duration: float | None, size: int,
                         asterisk_name: str, error: str | None) -> None:
        self.writer.submit(channel_id, partial(
            rec_q.insert_recording, channel_id=channel_id, path=str(path.resolve()), fmt=fmt, duration=duration,
            size=size, asterisk_name=asterisk_name, error=error), "recording")

    async def drain(self, timeout: float) -> None:
        await self.writer.drain(timeout)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
