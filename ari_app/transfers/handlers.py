"""The ChannelTransfer event: parsed and handed to the transfer service."""

from __future__ import annotations

import logging

from ari_app.transfers.events import ReferRequest
from ari_app.transfers.service import TransferService

log = logging.getLogger(__name__)


class TransferHandlers:
    def __init__(self, service: TransferService):
        self._service = service

    async def on_channel_transfer(self, event: dict) -> None:
        request = ReferRequest.from_event(event)
        if request.state is not None:
            # Our own transfer_progress, echoed: nothing new.
            log.debug("channel %s: transfer %s", request.source, request.state)
            return
        log.info("channel %s: the phone asks to transfer to %s%s", request.source, request.destination,
                 f" (attended, consultation {request.consultation or request.replaces})" if request.attended else "")
        await self._service.refer(request)
