"""The HTTP provider adapter (issue 21): the template for SMS services with a JSON API.

Config: `url` (where messages are POSTed), `token` (sent as `Authorization: Bearer <token>`),
`webhook_secret` (signs the provider's webhooks: crm/sms/webhooks.py, not used here).

A message is one POST of {"to", "from", "text", "reference"} (reference: our message id, for the
provider's own de-duplication). The answer names the provider's id for the message, {"id": "..."},
or one per part, {"ids": ["...", ...]}: delivery reports come by it to the web's webhook
(/sms/webhooks/<gateway id>), not to this process. 429 and 5xx are tried again later (Retry); any
other 4xx is the provider refusing this message for good (Refused). A request that may have reached
the provider but got no answer is not sent again (Refused), so nobody gets a text twice.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from crm.settings import Settings
from crm.sms import model
from crm.sms.gateway import Outgoing, Refused, Retry, Submitted
from smsd.rest import UNAVAILABLE_SECONDS, RestGateway

log = logging.getLogger(__name__)

REQUEST_SECONDS = 10.0
THROTTLED_SECONDS = 30.0  # after a 429 without Retry-After


def retry_after(header: str | None, default: float = THROTTLED_SECONDS) -> float:
    """Retry-After in seconds (the HTTP-date form is not used by SMS APIs: the default then)."""
    try:
        return max(1.0, min(float(header or ""), 3600.0))
    except ValueError:
        return default


def submitted(answer: Any, parts: int) -> list[Submitted]:
    """The provider's answer as the parts it took: its id per part, or one id for the whole message
    (its other parts get none: the message's report finishes them, crm/sms/webhooks.py)."""
    ids: list[str] = []
    if isinstance(answer, dict):
        many = answer.get("ids")
        raw: list[Any] = many if isinstance(many, list) else [answer.get("id")]
        ids = [str(i) for i in raw if isinstance(i, (str, int)) and not isinstance(i, bool) and str(i)]
    if len(ids) == parts:
        return [Submitted(seq, pid) for seq, pid in enumerate(ids, start=1)]
    first = ids[0] if ids else None
    return [Submitted(1, first)] + [Submitted(seq, None) for seq in range(2, parts + 1)]


class HttpGateway(RestGateway):

    def __init__(self, gateway_id: int, config: dict[str, Any], settings: Settings) -> None:
        url, token = str(config.get("url") or "").strip(), str(config.get("token") or "")
        if not url.startswith(("http://", "https://")) or not token:
            raise ValueError(f"HTTP gateway {gateway_id}: 'url' (http:// or https://) and 'token' are required")
        super().__init__(gateway_id, f"Bearer {token}", REQUEST_SECONDS)
        self.url = url

    async def submit(self, message: Outgoing) -> list[Submitted]:
        payload = {"to": message.to, "from": message.sender, "text": message.body,
                   "reference": str(message.message_id)}
        status, text, headers = await self.send("POST", self.url, "the provider", json=payload)
        wait = headers.get("Retry-After")
        if status == 429:
            raise Retry("the provider throttles (429)", after=retry_after(wait))
        if status >= 500:
            raise Retry(f"the provider answered {status}", after=retry_after(wait, UNAVAILABLE_SECONDS))
        if status >= 400:
            raise Refused(f"the provider refused the message: {status} {_error(text)}")
        if status >= 300:
            raise Refused(f"the provider answered {status}; check the gateway's URL")
        try:
            answer = json.loads(text) if text else None
        except ValueError:
            answer = None
        parts = submitted(answer, model.split(message.body).parts)
        if parts[0].provider_message_id is None:
            log.warning("sms %d: gateway %d took it but answered no id (%.200s): no delivery report will match",
                        message.message_id, self.gateway_id, text)
        else:
            log.info("sms %d to %s taken by gateway %d as %s", message.message_id, message.to, self.gateway_id,
                     ", ".join(str(p.provider_message_id) for p in parts if p.provider_message_id))
        return parts


def _error(text: str) -> str:
    """The provider's error message: its JSON "error"/"message", else the start of the body."""
    try:
        answer = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(answer, dict):
        return str(answer.get("error") or answer.get("message") or text)[:200]
    return text[:200]
