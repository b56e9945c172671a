"""The supervision channels' events: the supervisor's phone answered (StasisStart 'supervisor'),
its snoop entered the app (StasisStart 'snoop'), one of them ended (ChannelDestroyed)."""

from __future__ import annotations

from ari_app.events import ChannelEntered
from ari_app.supervision.service import SupervisionService


class SupervisionHandlers:
    def __init__(self, service: SupervisionService):
        self._service = service

    async def on_answered(self, call: ChannelEntered) -> None:
        await self._service.answered(call)

    async def on_snoop(self, call: ChannelEntered) -> None:
        await self._service.snoop_entered(call)

    async def on_gone(self, channel_id: str) -> None:
        await self._service.channel_gone(channel_id)
