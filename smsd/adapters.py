"""Which adapter class serves which sms_gateways.kind: the one place a new kind is added.

Each adapter implements crm.sms.gateway.Gateway and is built as `cls(gateway_id, config, settings)`,
`config` being the gateway row's jsonb (checked by the adapter: a bad config raises ValueError with a
message for the admin). Imported lazily so a site without SIP gateways never loads the ARI client.
"""

from __future__ import annotations

import importlib
from typing import Any

from crm.settings import Settings
from crm.sms.gateway import Gateway

ADAPTERS = {
    "smpp": "smsd.smpp:SmppGateway",
    "sip": "smsd.sip_message:SipMessageGateway",
    "http": "smsd.http_provider:HttpGateway",
}


def build(kind: str, gateway_id: int, config: dict[str, Any], settings: Settings) -> Gateway:
    module_name, _, class_name = ADAPTERS[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(gateway_id, config, settings)
