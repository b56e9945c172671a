"""What the card's SMS chat accepts (issue 21): a message to send, the do-not-text switch, "read up to"."""

from __future__ import annotations

from typing import Annotated

from web import limits as L
from web.validation import Checkbox, Id, Schema, Text

# Far more than the longest message sent (crm/sms/service.py counts the parts): a paste is refused
# with the parts it would take, not cut.
SMS_TEXT = 5_000


class SmsSendForm(Schema):
    phone: Annotated[str, Text(L.CONTACT_VALUE)] = ""
    body: Annotated[str, Text(SMS_TEXT)] = ""


class SmsOptOutForm(Schema):
    opt_out: Checkbox = False
    reason: Annotated[str, Text(L.CONTACT_NOTE)] = ""


class SmsReadForm(Schema):
    up_to: Id


class SmsEmailForm(Schema):
    sms_email_notify: Checkbox = False
