"""The campaign channels' ARI events, parsed and handed to the dialer (ari_app/campaigns/service.py):
the client answered ('campaign,<attempt>'), back from AMD ('campaign-amd,<attempt>,<status>,<cause>'),
the agent's phone answered ('campaign-agent,<attempt>'), a campaign channel ended (dial-...)."""

from __future__ import annotations

import logging

from ari_app.calls import CallService
from ari_app.campaigns.service import CampaignDialer
from ari_app.constants import CAMPAIGN_PREFIX, is_campaign_agent_channel
from ari_app.events import ChannelEntered

log = logging.getLogger(__name__)


def _attempt_id(call: ChannelEntered) -> int | None:
    return int(call.args[1]) if len(call.args) > 1 and call.args[1].isdigit() else None


class CampaignHandlers:
    def __init__(self, dialer: CampaignDialer, calls: CallService):
        self._dialer = dialer
        self._calls = calls

    async def _unknown(self, call: ChannelEntered) -> None:
        log.info("channel %s: campaign channel with args %s of no attempt; hanging up", call.channel_id, call.args)
        await self._calls.d.media.hangup(call.channel_id)

    async def on_answered(self, call: ChannelEntered) -> None:
        attempt_id = _attempt_id(call)
        if attempt_id is None:
            await self._unknown(call)
            return
        await self._dialer.client_answered(attempt_id, call)

    async def on_amd(self, call: ChannelEntered) -> None:
        attempt_id = _attempt_id(call)
        if attempt_id is None:
            await self._unknown(call)
            return
        status = call.args[2] if len(call.args) > 2 else ""
        cause = call.args[3] if len(call.args) > 3 else ""
        await self._dialer.amd_verdict(attempt_id, call, status, cause)

    async def on_agent_answered(self, call: ChannelEntered) -> None:
        attempt_id = _attempt_id(call)
        if attempt_id is None:
            await self._unknown(call)
            return
        await self._dialer.agent_answered(attempt_id, call)

    async def on_channel_destroyed(self, event: dict) -> None:
        """Every ChannelDestroyed: a campaign channel's end (with its cause) goes to the dialer first;
        the client's then ends its call row as any call's (CallService), the agent's leg has none."""
        channel_id = (event.get("channel") or {}).get("id", "")
        if channel_id.startswith(CAMPAIGN_PREFIX):
            await self._dialer.channel_gone(channel_id, event.get("cause"))
            if is_campaign_agent_channel(channel_id):
                return
        await self._calls.on_channel_destroyed(event)
