"""The client's address: the TCP peer, or behind a trusted reverse proxy the address it names.

X-Forwarded-For is read from the right, past the configured proxies only (Settings.trusted_proxies):
a header from anywhere else is the client's own words and is ignored, so no client can choose
the address its allow-list, throttling and audit see. The middleware also gives it to the audit
trail (crm/audit: its address for this request, and for the tasks the request starts, an import).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from crm import audit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SCOPE_KEY = "pbxcrm.client_address"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket: its IPv4 address, which the allow-lists name.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address, proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def resolve(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str | None:
    """The client's address from the TCP peer and the X-Forwarded-For headers (in order). Pure."""
    address = _address(peer) if peer else None
    if address is None:
        return peer
    if not proxies or not _trusted(address, proxies):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = _address(hop)
        if hop_address is None:
            return str(address)  # garbage in the chain: the last address we can vouch for
        address = hop_address
        if not _trusted(address, proxies):
            return str(address)
    return str(address)


def client_address(conn: HTTPConnection) -> str | None:
    """This request's client address, as ClientAddressMiddleware found it."""
    if SCOPE_KEY in conn.scope:
        return conn.scope[SCOPE_KEY]
    return conn.client.host if conn.client else None


class ClientAddressMiddleware:
    """Finds the client's address once per request (scope["pbxcrm.client_address"]), which every
    change crm.audit.record() stores while the request runs carries."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[Network] = ()):
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        headers = [value.decode("latin-1") for name, value in scope.get("headers", ())
                   if name == b"x-forwarded-for"]
        scope[SCOPE_KEY] = resolve(client[0] if client else None, headers, self.trusted_proxies)
        token = audit.set_address(scope[SCOPE_KEY])
        try:
            await self.app(scope, receive, send)
        finally:
            audit.reset_address(token)
