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

import asyncio
import logging
from typing import Any

import aiohttp

from ari_app.client import basic_auth
from crm.settings import Settings
from crm.sms import sip
from crm.sms.gateway import Inbox, Outgoing, Refused, Retry, Submitted

log = logging.getLogger(__name__)

REQUEST_SECONDS = 5.0
# The endpoint is not in Asterisk (a config not loaded yet, or a typo the admin will fix): later.
NO_ENDPOINT_RETRY_SECONDS = 60.0


class SipMessageGateway:
    window = 10

    def __init__(self, gateway_id: int, config: dict[str, Any], settings: Settings) -> None:
        endpoint = str(config.get("endpoint") or "").strip()
        if not endpoint or "/" in endpoint or "@" in endpoint:
            raise ValueError(f"SIP gateway {gateway_id}: 'endpoint' must be a PJSIP endpoint name, got {endpoint!r}")
        self.gateway_id = gateway_id
        self.endpoint = endpoint
        self.sender = str(config.get("from") or "").strip()
        self._url = settings.ari_url.rstrip("/") + "/ari/endpoints/sendMessage"
        self._headers = {"Authorization": basic_auth(settings.ari_user, settings.ari_password)}
        self._session: aiohttp.ClientSession | None = None

    async def start(self, inbox: Inbox) -> None:
        """Nothing to keep open: each submit is one REST request (incoming ones reach the Stasis app)."""
        self._http()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers,
                                                  timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def submit(self, message: Outgoing) -> list[Submitted]:
        params = {"to": sip.message_to(self.endpoint, message.to), "from": self.sender or message.sender,
                  "body": message.body}
        try:
            async with self._http().put(self._url, params=params) as resp:
                text = await resp.text()
        except aiohttp.ClientConnectorError as e:
            raise Retry(f"Asterisk does not answer ({type(e).__name__})", after=10) from e
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            # The request may have reached Asterisk, and the MESSAGE the gateway: not sent again.
            raise Refused(f"no answer from Asterisk's sendMessage ({type(e).__name__}); not sent again") from e
        if resp.status == 202:
            log.info("sms %d to %s handed to Asterisk for endpoint %s", message.message_id, message.to, self.endpoint)
            return [Submitted(1, None)]
        if resp.status == 404:
            log.error("sms gateway %d: Asterisk has no endpoint %s (%s)", self.gateway_id, self.endpoint, text[:200])
            raise Retry(f"Asterisk has no endpoint {self.endpoint}", after=NO_ENDPOINT_RETRY_SECONDS)
        if resp.status >= 500:
            raise Retry(f"Asterisk answered {resp.status}", after=10)
        raise Refused(f"Asterisk refused the MESSAGE: {resp.status} {text[:200]}")
