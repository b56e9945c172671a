"""What an HTTP SMS provider's webhook sends (issue 21, crm/sms/webhooks.py): a delivery report or an
incoming text, read strictly as JSON once its signature is checked (web/views/sms_webhooks.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from web import limits as L
from web.validation import Schema, Text

Phone = Annotated[str, Text(L.PHONE)]


class SmsWebhookIn(Schema):
    type: Literal["delivery", "incoming"]
    timestamp: Annotated[int, Field(ge=0, le=2**40)]
    # delivery: the id the provider answered the submit with, and what became of the message
    id: Annotated[str, Text(L.SHORT)] = ""
    status: Literal["", "delivered", "undelivered", "expired", "failed"] = ""
    detail: Annotated[str, Text(L.REMARK)] = ""
    # incoming: who wrote, to which of our numbers, and the text
    sender: Phone = Field("", alias="from")
    to: Phone = ""
    text: Annotated[str, Text(L.COMMENT)] = ""
