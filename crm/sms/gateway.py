"""The one interface between the sender worker and a gateway adapter (SMPP, SIP MESSAGE, HTTP).

The worker hands an adapter an `Outgoing` message and gets one `Submitted` per part, or an exception:
`Retry` for what may work later (throttled, bind lost, the peer down) and `Refused` for what never will
(an invalid number, the provider's permanent error). What comes back on its own (delivery receipts,
incoming messages) the adapter passes to the `Inbox` it was started with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    to: str  # E.164 digits with +
    sender: str  # our number (sms_numbers.number)
    body: str


@dataclass(frozen=True)
class Submitted:
    seq: int  # 1-based part number
    provider_message_id: str | None  # None: the gateway gives no id (SIP MESSAGE), so no receipt comes


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    status: str  # crm.sms.model: delivered | undelivered | expired | failed
    detail: str = ""


@dataclass(frozen=True)
class Incoming:
    sender: str  # the other side's number, as the gateway gave it (normalised by the inbox)
    recipient: str  # our number
    body: str
    received_at: dt.datetime | None = None


class Retry(Exception):
    """The gateway could not take it now; try again after `after` seconds (throttled, bind lost)."""

    def __init__(self, reason: str, after: float = 5.0) -> None:
        super().__init__(reason)
        self.after = after


class Refused(Exception):
    """The gateway will never take this message (invalid number, permanent provider error)."""


class Inbox(Protocol):
    async def receipt(self, gateway_id: int, receipt: Receipt) -> None: ...

    async def incoming(self, gateway_id: int, message: Incoming) -> None: ...


class Gateway(Protocol):
    """An adapter may also have `ready` (bool: False while it cannot send, say the bind is refused;
    the worker then leaves the gateway's messages queued instead of spending their attempts) and
    `window` (int: how many messages the worker keeps in flight at once; 10 without it)."""

    gateway_id: int

    async def start(self, inbox: Inbox) -> None:
        """Connect (bind) and keep the connection alive until `close`; reconnect on loss."""

    async def submit(self, message: Outgoing) -> list[Submitted]:
        """Hand every part to the peer; raises Retry or Refused. Long texts are split by the adapter
        (UDH concatenation for SMPP) into crm.sms.model.split(body).parts parts."""

    async def close(self) -> None: ...
