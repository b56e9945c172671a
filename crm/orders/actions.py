"""What an operator does from an order's row (issue 22, H9): call its number (click-to-call, the call
links to the order) or text it (the SMS links to the order). Both refuse who may not call the order."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.clicktocall import queries as c2c_q
from crm.errors import Conflict, Forbidden, ValidationError
from crm.i18n import _
from crm.orders import permissions
from crm.sms import inbox
from crm.sms import queries as sms_q
from crm.sms.service import check_text


def _may_call(user: Mapping, order: Mapping, row: Mapping) -> None:
    if not permissions.may_call_order(user, order):
        raise Forbidden(_("you cannot call from this order"))
    if row["removed_at"] is not None:
        raise Conflict(_("this row is no longer in the order's list"))
    if not row["phone_normalized"]:
        raise ValidationError({"number": _("the row has no phone number that can be dialled")})


async def call_row(conn: asyncpg.Connection, user: Mapping, order: Mapping, row: Mapping, region: str) -> int:
    """Ring the user's phone, then the row's number; the click-to-call request's id."""
    _may_call(user, order, row)
    request_id = await c2c_q.request_call(conn, user=user, number=row["phone_normalized"], requested_by=user["id"],
                                          region=region, order_id=order["id"])
    await audit.record(conn, user["id"], "order", order["id"], "call row",
                       {"row": [None, row["row_key"]], "phone": [None, row["phone_normalized"]]})
    return request_id


async def text_row(conn: asyncpg.Connection, user: Mapping, order: Mapping, row: Mapping, body: str,
                   max_parts: int) -> int:
    """Queue an SMS to the row's number (as a card's chat does: crm/sms/service.py); the message's id."""
    _may_call(user, order, row)
    parts = check_text(body, max_parts)
    phone = row["phone_normalized"]
    async with conn.transaction():
        if await inbox.is_opted_out(conn, phone, row["counterparty_id"]):
            raise Conflict(_("%(number)s asked not to be texted") % {"number": phone})
        gateway = await sms_q.gateway_for(conn, None)
        if gateway is None:
            raise Conflict(_("SMS cannot be sent: there is no sending number yet; ask the administrator to "
                             "set up an SMS gateway"))
        message_id = await sms_q.queue_outgoing(conn, phone=phone, body=body, counterparty_id=row["counterparty_id"],
                                                user_id=user["id"], own_number=gateway["number"],
                                                gateway_id=gateway["gateway_id"], order_id=order["id"])
        await audit.record(conn, user["id"], "order", order["id"], "send sms", {
            "sms": [None, message_id], "phone": [None, phone], "body": [None, body],
            "parts": [None, f"{parts.parts} {parts.encoding}"]})
    return message_id
