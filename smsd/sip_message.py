"""The SIP MESSAGE adapter (issue 21): SMS through a GSM gateway that speaks SIP, via Asterisk.

Config: `endpoint`, the gateway's PJSIP endpoint in Asterisk; `from`, optional, what the MESSAGE's
From user says (blank: our sending number). A message goes out with ARI `PUT /endpoints/sendMessage`
to pjsip:PJSIP/<number>@<endpoint> (crm.sms.sip.message_to): Asterisk sends the MESSAGE to the
endpoint's contact with the number as its user, the whole text in one request.

What ARI's 202 means: Asterisk built the MESSAGE and handed it to PJSIP. It does not wait for the
gateway's answer and never reports it (a 4xx from the gateway, or none, is only in Asterisk's log),
and a GSM gateway sends no delivery report over SIP. So a message sent here is "submitted", with one
part and no provider id, and stays so: it is not "delivered".

Incoming MESSAGEs do not pass through this process: Asterisk hands them to the Stasis app
(ari_app/sms/), which has the ARI websocket; this process needs only REST.
"""

from __future__ import annotations

import logging
from typing import Any

from ari_app.client import basic_auth
from crm.settings import Settings
from crm.sms import sip
from crm.sms.gateway import Outgoing, Refused, Retry, Submitted
from smsd.rest import UNAVAILABLE_SECONDS, RestGateway

log = logging.getLogger(__name__)

REQUEST_SECONDS = 5.0
# The endpoint is not in Asterisk (a config not loaded yet, or a typo the admin will fix): later.
NO_ENDPOINT_RETRY_SECONDS = 60.0


class SipMessageGateway(RestGateway):
    """Config: endpoint (a PJSIP endpoint name), from (optional)."""

    def __init__(self, gateway_id: int, config: dict[str, Any], settings: Settings) -> None:
        endpoint = str(config.get("endpoint") or "").strip()
        if not endpoint or "/" in endpoint or "@" in endpoint:
            raise ValueError(f"SIP gateway {gateway_id}: 'endpoint' must be a PJSIP endpoint name, got {endpoint!r}")
        super().__init__(gateway_id, basic_auth(settings.ari_user, settings.ari_password), REQUEST_SECONDS)
        self.endpoint = endpoint
        self.sender = str(config.get("from") or "").strip()
        self._url = settings.ari_url.rstrip("/") + "/ari/endpoints/sendMessage"

    async def submit(self, message: Outgoing) -> list[Submitted]:
        params = {"to": sip.message_to(self.endpoint, message.to), "from": self.sender or message.sender,
                  "body": message.body}
        status, text, _headers = await self.send("PUT", self._url, "Asterisk's sendMessage", params=params)
        if status == 202:
            log.info("sms %d to %s handed to Asterisk for endpoint %s", message.message_id, message.to, self.endpoint)
            return [Submitted(1, None)]
        if status == 404:
            log.error("sms gateway %d: Asterisk has no endpoint %s (%s)", self.gateway_id, self.endpoint, text[:200])
            raise Retry(f"Asterisk has no endpoint {self.endpoint}", after=NO_ENDPOINT_RETRY_SECONDS)
        if status >= 500:
            raise Retry(f"Asterisk answered {status}", after=UNAVAILABLE_SECONDS)
        raise Refused(f"Asterisk refused the MESSAGE: {status} {text[:200]}")
