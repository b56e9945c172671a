"""One live attempt of a campaign (issue 22): what the dialer knows of it while its client's channel
lives, its state (ari_app/campaigns/states.py), and the campaign settings it was placed with."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from ari_app.campaigns.states import AttemptState, Ringing
from ari_app.constants import campaign_agent_channel_id
from crm.outbound.model import RetryRule


@dataclass(frozen=True)
class CampaignSettings:
    """What a live attempt needs of its campaign (read when it was placed)."""

    id: int
    mode: str
    amd: bool
    amd_arguments: str
    machine_action: str
    order_id: int | None
    caller_id: str
    rules: Mapping[str, RetryRule]


@dataclass(frozen=True)
class Agent:
    user_id: int
    name: str
    extension: str


@dataclass
class Attempt:
    id: int
    channel_id: str
    number_id: int
    number: str
    name: str
    counterparty_id: int | None
    campaign: CampaignSettings
    state: AttemptState = field(default_factory=Ringing)
    answered_at: float | None = None  # loop time of the client's answer
    # Loop time the client was known to be a person: the answer, or AMD's verdict. The wait for an
    # agent counts from here (AMD's listening is not the person waiting on a silent line for us).
    heard_at: float | None = None
    # Loop time after which a call still ringing (or in AMD) is asked about: its end may have been missed
    # (a ChannelDestroyed lost in a reconnect, a hang-up while AMD had it in the dialplan).
    check_at: float = float("inf")
    agent: Agent | None = None
    bridge: str | None = None
    # Set when the rung agent's phone answers (True) or ends unanswered (False).
    agent_result: asyncio.Future | None = None
    agent_live: bool = False
    client_gone: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    cancelled: bool = False  # its campaign was cancelled while it rang: hung up by the dialer

    @property
    def agent_channel_id(self) -> str:
        return campaign_agent_channel_id(self.id)

    def move(self, state: AttemptState) -> None:
        self.state = state
