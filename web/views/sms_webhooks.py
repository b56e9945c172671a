"""An HTTP SMS provider's webhook (issue 21): POST /sms/webhooks/<gateway id>, delivery reports and
incoming texts. A machine calls it: no session and no CSRF token (web/machine_paths.py exempts this
path), the HMAC signature with the gateway's webhook_secret instead (crm/sms/webhooks.py). A wrong or
missing signature, or a body outside the replay window, is 403 and nothing is recorded."""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.sms import webhooks
from crm.sms.gateway import Incoming, Receipt
from crm.sms.inbox import Inbox
from web.client_address import client_address
from web.db import connection
from web.schemas_sms_webhooks import SmsWebhookIn
from web.validation import json_body

log = logging.getLogger(__name__)


def _refused(gateway_id: int, request: Request, why: str) -> JSONResponse:
    log.warning("sms webhook for gateway %d from %s refused: %s", gateway_id, client_address(request), why)
    return JSONResponse({"error": _("signature missing or wrong")}, status_code=403)


async def webhook(request: Request):
    gateway_id = request.path_params["gateway_id"]
    body = await request.body()
    async with connection(request) as conn:
        secret = await webhooks.webhook_secret(conn, gateway_id)
    if secret is None:
        return _refused(gateway_id, request, "no HTTP gateway with a webhook secret")
    if not webhooks.signed(secret, body, request.headers.get(webhooks.SIGNATURE_HEADER)):
        return _refused(gateway_id, request, "bad signature")
    event = await json_body(request, SmsWebhookIn)
    if not webhooks.fresh(event.timestamp, time.time()):
        return _refused(gateway_id, request, f"timestamp {event.timestamp} outside the replay window")
    pool = request.app.state.pool
    inbox = Inbox(pool, request.app.state.settings.default_region)
    if event.type == webhooks.DELIVERY:
        if not event.id or not event.status:
            raise ValidationError({k: _("is required") for k in ("id", "status") if not getattr(event, k)})
        if not await webhooks.delivery(pool, inbox, gateway_id, Receipt(event.id, event.status, event.detail)):
            return JSONResponse({"error": _("no message has this id")}, status_code=404)
        return JSONResponse({"ok": True})
    if not event.sender or not event.text:
        raise ValidationError({k: _("is required") for k, v in (("from", event.sender), ("text", event.text)) if not v})
    async with connection(request) as conn:
        if not await webhooks.first_time(conn, gateway_id, body):
            log.info("sms webhook for gateway %d: incoming text from %s seen before; not stored again",
                     gateway_id, event.sender)
            return JSONResponse({"ok": True, "duplicate": True})
    message_id = await inbox.incoming(gateway_id, Incoming(event.sender, event.to, event.text))
    if message_id is None:
        async with connection(request) as conn:
            await webhooks.forget(conn, gateway_id, body)
        raise ValidationError({"from": _("not a phone number")})
    return JSONResponse({"ok": True, "message": message_id})


routes = [
    Route("/sms/webhooks/{gateway_id:int}", webhook, name="sms_webhooks.webhook", methods=["POST"]),
]
