"""Click-to-call, PBX side (H6): requests arrive by LISTEN/NOTIFY from the web;
the app rings the user's phone, and when the user answers dials the number
as an outgoing call (logged, on the counterparty's card, recorded by policy)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

import asyncpg

from ari_app.client import AriError
from ari_app.constants import click_to_call_request_id
from ari_app.events import ChannelEntered
from ari_app.media import CallMedia
from crm.clicktocall import queries as c2c_q
from crm.db import DATABASE_ERRORS
from crm.dialing.technology import click_dial, default_dial
from crm.listen import listen_for_requests
from crm.outbound import preview

log = logging.getLogger(__name__)

USER_RING_SECONDS = 30


class ClickToCall:
    def __init__(self, pool: asyncpg.Pool, database_url: str, media: CallMedia,
                 dial_of: Callable[[str], str] = default_dial):
        self._pool = pool
        self._url = database_url
        self._media = media
        self._dial_of = dial_of  # extension -> where its user's phone is rung
        self._requests: dict[int, asyncpg.Record] = {}
        self._answered: set[int] = set()
        self._tasks: set[asyncio.Task] = set()

    async def listen(self) -> None:
        """Take requests as they are NOTIFYed, and those made while the app was away."""
        await listen_for_requests(self._url, c2c_q.CHANNEL, self._take, c2c_q.pending_ids)

    def _take(self, request_id: int) -> None:
        task = asyncio.create_task(self._ring_user(request_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ring_user(self, request_id: int) -> None:
        async with self._pool.acquire() as conn:
            request = await c2c_q.claim(conn, request_id)
        if request is None:
            return  # another app process took it, or it is too old
        self._requests[request_id] = request
        log.info("click-to-call %d: ringing extension %s for %s", request_id, request["extension"], request["number"])
        # A user whose browser phone rings (issue 19) is called back on it: the click came from its page.
        endpoint = click_dial(self._dial_of(request["extension"]))
        try:
            await self._media.originate_user(request_id=request_id, endpoint=endpoint,
                                             number=request["number"], timeout=USER_RING_SECONDS)
        except AriError as e:
            await self._finish(request_id, "failed", f"the user's phone could not be rung ({e.status})")

    def answered(self, event_call: ChannelEntered) -> ChannelEntered | None:
        """The user picked up: the call to place, as if the user's phone had dialled it."""
        if len(event_call.args) < 2 or not event_call.args[1].isdigit():
            return None
        request_id = int(event_call.args[1])
        request = self._requests.get(request_id)
        if request is None:
            return None
        self._answered.add(request_id)
        asyncio.create_task(self._status(request_id, "dialing", channel_id=event_call.channel_id))
        return dataclasses.replace(event_call, caller_number=request["extension"], caller_name="",
                                   called_number=request["number"])

    def order_id(self, channel_id: str) -> int | None:
        """The order the request was made for (issue 22): its call links to it."""
        request = self._requests.get(click_to_call_request_id(channel_id))
        return request["order_id"] if request is not None else None

    def shop_order_id(self, channel_id: str) -> int | None:
        """The shop order the request was made from (issue 24): its call links to it."""
        request = self._requests.get(click_to_call_request_id(channel_id))
        return request["shop_order_id"] if request is not None else None

    async def channel_gone(self, channel_id: str) -> None:
        request_id = click_to_call_request_id(channel_id)
        if request_id in self._answered:
            await self._finish(request_id, "done", channel_id=channel_id)
        elif request_id in self._requests:
            await self._finish(request_id, "failed", "the user did not answer")

    async def _finish(self, request_id: int, status: str, error: str | None = None,
                      channel_id: str | None = None) -> None:
        request = self._requests.pop(request_id, None)
        self._answered.discard(request_id)
        await self._status(request_id, status, error=error)
        log.info("click-to-call %d: %s%s", request_id, status, f" ({error})" if error else "")
        if request is not None and request["dial_attempt_id"] and channel_id is not None:
            await self._attempt_ended(request["dial_attempt_id"], channel_id)

    async def _attempt_ended(self, attempt_id: int, channel_id: str) -> None:
        """A preview campaign's call ended: its outcome, unless the agent said it (crm/outbound/preview)."""
        try:
            async with self._pool.acquire(timeout=2) as conn:
                await preview.ended_by_call(conn, attempt_id, channel_id)
        except DATABASE_ERRORS as e:
            log.warning("channel %s: dial attempt %d's outcome not saved (%s)", channel_id, attempt_id,
                        type(e).__name__)

    async def _status(self, request_id: int, status: str, **kw) -> None:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                await c2c_q.set_status(conn, request_id, status, **kw)
        except DATABASE_ERRORS as e:
            log.warning("click-to-call %d: status %s not saved (%s)", request_id, status, type(e).__name__)
