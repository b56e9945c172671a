"""Each request's client address for the audit trail (crm/audit.py): set once here, so that every
change recorded while the request runs, and in the tasks it starts (an import), carries it."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from crm import audit
from web.client_address import client_address


class AuditContextMiddleware:
    """After ClientAddressMiddleware: the address it found, for crm.audit.record()."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = audit.set_address(client_address(HTTPConnection(scope)))
        try:
            await self.app(scope, receive, send)
        finally:
            audit.reset_address(token)
