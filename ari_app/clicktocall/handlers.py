"""The click-to-call channel's events: the user answered (StasisStart 'clicktocall'), the channel ended."""

from __future__ import annotations

import dataclasses
import logging

from ari_app.calls import CallService
from ari_app.clicktocall.service import ClickToCall
from ari_app.constants import PURPOSE_OUTBOUND, order_arg, shop_order_arg
from ari_app.events import ChannelEntered

log = logging.getLogger(__name__)


class ClickToCallHandlers:
    def __init__(self, click_to_call: ClickToCall, calls: CallService):
        self._service = click_to_call
        self._calls = calls

    async def on_answered(self, call: ChannelEntered) -> None:
        """The user picked up: the number is dialled as an outgoing call from the user's phone."""
        placed = self._service.answered(call)
        if placed is None:
            log.info("channel %s: click-to-call answered for an unknown request; hanging up", call.channel_id)
            await self._calls.d.media.hangup(call.channel_id)
            return
        # A call made for an order (issue 22) carries it to the call's row: ari_app/outbound/session.py.
        order_id = self._service.order_id(call.channel_id)
        shop_order_id = self._service.shop_order_id(call.channel_id)  # issue 24: made from a shop order
        order = ((order_arg(order_id),) if order_id else ()) + (
            (shop_order_arg(shop_order_id),) if shop_order_id else ())
        self._calls.start_session(dataclasses.replace(placed, args=(PURPOSE_OUTBOUND, placed.called_number, *order)),
                                  answered=True)

    async def on_gone(self, channel_id: str) -> None:
        await self._service.channel_gone(channel_id)
