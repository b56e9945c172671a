"""Names and formats the Stasis app shares with Asterisk, the dialplan and itself, defined once.

Whatever is matched elsewhere (a channel id prefix read back in an event, the
Stasis() arguments the dialplan passes, the event types Asterisk is asked to
send) is spelled here and nowhere else in ari_app/. The dialplan
(dialplan/pbxcrm.conf) writes the same Stasis() arguments: change them together.
"""

from __future__ import annotations

from crm.calls.channels import CAMPAIGN_PREFIX, CLICK_TO_CALL_PREFIX, OUR_PREFIX, SUPERVISION_PREFIX
from crm.dialing.technology import DEFAULT_TECHNOLOGY, default_dial, trunk_dial

# ---- ids the app gives to channels, bridges and recordings ----
# OUR_PREFIX starts every channel, bridge and recording the app makes; CLICK_TO_CALL_PREFIX a
# click-to-call request's channel to the user's phone (crm/calls/channels.py: the CEL reader knows them too).


def leg_channel_id(caller_channel: str, token: str) -> str:
    """A phone rung for the call of `caller_channel`."""
    return f"{OUR_PREFIX}{caller_channel}-{token}"


# The Local channel that writes a dialplan setting into AstDB (ari_app/dialplan_store.py): ours, so the
# call log from CEL leaves it out (crm/cel/), but no phone rung for a call.
STORE_PREFIX = f"{OUR_PREFIX}store-"


def caller_of_leg(channel_id: str) -> str:
    """The caller's channel a phone was rung for (leg_channel_id read back)."""
    return channel_id[len(OUR_PREFIX):].rpartition("-")[0]


def bridge_id(caller_channel: str) -> str:
    """The bridge where the caller talks to the phone that answered."""
    return f"{OUR_PREFIX}{caller_channel}"


def recording_name(caller_channel: str) -> str:
    return f"{OUR_PREFIX}{caller_channel}"


def voicemail_recording_name(caller_channel: str) -> str:
    """The caller's voicemail, recorded from its channel (ari_app/recording/voicemail.py)."""
    return f"{OUR_PREFIX}vm-{caller_channel}"


def bridge_name(caller_channel: str) -> str:
    return f"pbxcrm call {caller_channel}"


def click_to_call_channel_id(request_id: int) -> str:
    return f"{CLICK_TO_CALL_PREFIX}{request_id}"


def click_to_call_request_id(channel_id: str) -> int:
    return int(channel_id[len(CLICK_TO_CALL_PREFIX):])


# A placed call's extra StasisStart argument naming the order it is made for (issue 22: click-to-call from
# an order's row); the call's row links to the order.
ORDER_ARG_PREFIX = "order="


def order_arg(order_id: int) -> str:
    return f"{ORDER_ARG_PREFIX}{order_id}"


def order_of_args(args: tuple[str, ...]) -> int | None:
    for arg in args[2:]:
        if arg.startswith(ORDER_ARG_PREFIX) and arg[len(ORDER_ARG_PREFIX):].isdigit():
            return int(arg[len(ORDER_ARG_PREFIX):])
    return None


# The same for a call made from a shop order (issue 24): the call's row links to the shop order.
SHOP_ORDER_ARG_PREFIX = "shop_order="


def shop_order_arg(shop_order_id: int) -> str:
    return f"{SHOP_ORDER_ARG_PREFIX}{shop_order_id}"


def shop_order_of_args(args: tuple[str, ...]) -> int | None:
    for arg in args[2:]:
        if arg.startswith(SHOP_ORDER_ARG_PREFIX) and arg[len(SHOP_ORDER_ARG_PREFIX):].isdigit():
            return int(arg[len(SHOP_ORDER_ARG_PREFIX):])
    return None


def campaign_channel_id(attempt_id: int) -> str:
    """A campaign's call to a client, attempt `attempt_id` (issue 22)."""
    return f"{CAMPAIGN_PREFIX}{attempt_id}"


def campaign_agent_channel_id(attempt_id: int) -> str:
    """The agent's phone rung for attempt `attempt_id`'s answered client."""
    return f"{CAMPAIGN_PREFIX}{attempt_id}-agent"


def is_campaign_agent_channel(channel_id: str) -> bool:
    return channel_id.startswith(CAMPAIGN_PREFIX) and channel_id.endswith("-agent")


def supervisor_channel_id(request_id: int) -> str:
    """The supervisor's phone rung for supervision request `request_id` (ari_app/supervision/)."""
    return f"{SUPERVISION_PREFIX}{request_id}"


def snoop_channel_id(request_id: int) -> str:
    """The snoop on the operator's channel that the supervisor's phone hears (listen, whisper)."""
    return f"{SUPERVISION_PREFIX}{request_id}-snoop"


def supervision_bridge_id(request_id: int) -> str:
    """The bridge of the supervisor's phone and its snoop."""
    return f"{SUPERVISION_PREFIX}{request_id}"


def supervision_request_id(channel_id: str) -> int | None:
    """The request a supervision channel (phone or snoop) is for; None: not one."""
    head, _, _ = channel_id[len(SUPERVISION_PREFIX):].partition("-")
    return int(head) if channel_id.startswith(SUPERVISION_PREFIX) and head.isdigit() else None


# ---- Stasis() arguments: the first names the purpose of the channel ----

PURPOSE_INBOUND = "inbound"
PURPOSE_OUTBOUND = "outbound"
PURPOSE_INTERNAL = "internal"
PURPOSE_CLICK_TO_CALL = "clicktocall"
PURPOSE_DIALED = "dialed"
# A desk phone's feature code (*72 log in, *73 out, *74 pause, *75 resume, *76 end wrap-up: ari_app/agents.py).
PURPOSE_AGENT = "agent"
# A supervisor's phone that answered, and the snoop made for it (ari_app/supervision/): 'supervisor,<id>', 'snoop,<id>'.
PURPOSE_SUPERVISOR = "supervisor"
PURPOSE_SNOOP = "snoop"
# A campaign's call to a client, answered (issue 22): "campaign,<attempt id>"; back from the dialplan's
# answering-machine detection (pbxcrm-campaign-amd): "campaign-amd,<attempt id>,<AMDSTATUS>,<AMDCAUSE>".
PURPOSE_CAMPAIGN = "campaign"
PURPOSE_CAMPAIGN_AMD = "campaign-amd"
CAMPAIGN_AMD_CONTEXT = "pbxcrm-campaign-amd"
# The agent's phone rung for an answered campaign call, answered: "campaign-agent,<attempt id>".
PURPOSE_CAMPAIGN_AGENT = "campaign-agent"
# Channels the app routes as calls of their own.
ROUTED_PURPOSES = (PURPOSE_INBOUND, PURPOSE_OUTBOUND, PURPOSE_INTERNAL)
PLACED_PURPOSES = (PURPOSE_OUTBOUND, PURPOSE_INTERNAL)


def dialed_args(caller_channel: str) -> str:
    """The app args of a phone rung for a call: 'dialed,<caller's channel>'."""
    return f"{PURPOSE_DIALED},{caller_channel}"


def click_to_call_args(request_id: int) -> str:
    return f"{PURPOSE_CLICK_TO_CALL},{request_id}"


def campaign_args(attempt_id: int) -> str:
    return f"{PURPOSE_CAMPAIGN},{attempt_id}"


def campaign_agent_args(attempt_id: int) -> str:
    return f"{PURPOSE_CAMPAIGN_AGENT},{attempt_id}"


def supervisor_args(request_id: int) -> str:
    return f"{PURPOSE_SUPERVISOR},{request_id}"


def snoop_args(request_id: int) -> str:
    return f"{PURPOSE_SNOOP},{request_id}"


# Where the dialplan rings the default queue when the app cannot route (dialplan/pbxcrm.conf).
DIALPLAN_FALLBACK = ("pbxcrm-default-queue", "s", 1)

# ---- ARI events the app handles; Asterisk is asked to send only these ----

STASIS_START = "StasisStart"
STASIS_END = "StasisEnd"
CHANNEL_DESTROYED = "ChannelDestroyed"
DEVICE_STATE_CHANGED = "DeviceStateChanged"
# A key the caller pressed, and a prompt played to its end (ari_app/keypad.py).
CHANNEL_DTMF_RECEIVED = "ChannelDtmfReceived"
PLAYBACK_FINISHED = "PlaybackFinished"
# A voicemail's recording ended ('#', its longest length, the caller's hang-up) or failed.
RECORDING_FINISHED = "RecordingFinished"
RECORDING_FAILED = "RecordingFailed"
# A phone asked for a transfer (SIP REFER) on a channel marked TRANSFERS_TO_APP (ari_app/transfers/).
CHANNEL_TRANSFER = "ChannelTransfer"
# A SIP MESSAGE from an endpoint the app subscribed to: a GSM gateway's incoming SMS (ari_app/sms/).
TEXT_MESSAGE_RECEIVED = "TextMessageReceived"
# Sent to the websocket that had the app when another registers the same name (ari_app/standby.py).
APPLICATION_REPLACED = "ApplicationReplaced"
EVENT_TYPES = (STASIS_START, STASIS_END, CHANNEL_DESTROYED, DEVICE_STATE_CHANGED, CHANNEL_DTMF_RECEIVED,
               PLAYBACK_FINISHED, RECORDING_FINISHED, RECORDING_FAILED, CHANNEL_TRANSFER, TEXT_MESSAGE_RECEIVED)

# ---- transfers: Asterisk 22 (res_pjsip_refer) hands a PJSIP channel's REFER to the app ----

# The channel variable (a function) that says so, and its value; Asterisk then does nothing itself.
TRANSFERS_TO_APP = ("PJSIP_TRANSFER_HANDLING()", "ari-only")
# transfer_progress states: what the phone that asked hears (a NOTIFY with 100, 200 or 603).
TRANSFER_PROGRESS = "channel_progress"
TRANSFER_ANSWERED = "channel_answered"
TRANSFER_DECLINED = "channel_declined"

# ---- event sources to subscribe to ----

DEVICE_STATE_SOURCE = "deviceState:"


def channel_source(channel_id: str) -> str:
    return f"channel:{channel_id}"


def channel_of_target(target_uri: str) -> str | None:
    """A playback's target, channel:<id>, as the channel id (None for a bridge's)."""
    kind, _, target = target_uri.partition(":")
    return target if kind == "channel" and target else None


# ---- Asterisk's device states (ARI DeviceState model) and what they mean for a new call ----

BUSY_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})
UNREACHABLE_STATES = frozenset({"UNAVAILABLE", "INVALID"})
STATE_RINGING = "RINGING"
STATE_UNAVAILABLE = "UNAVAILABLE"
STATE_IN_USE = "INUSE"
STATE_NOT_IN_USE = "NOT_INUSE"
STATE_UNKNOWN = "UNKNOWN"
TECHNOLOGY = DEFAULT_TECHNOLOGY


def endpoint(extension: str, trunk: str | None = None) -> str:
    """The default technology's dial string: a phone, PJSIP/103, or a number through a trunk,
    PJSIP/74951234567@trunk. A user's own may differ (CrmView.dial_of), and outbound numbers
    go through the dial rules first (ari_app/dialing.py)."""
    return trunk_dial(extension, trunk) if trunk else default_dial(extension)
