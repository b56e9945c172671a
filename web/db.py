"""The request's database connection: taken from the pool on first use and given back
by ConnectionMiddleware once the response has been sent.

Views write `async with connection(request) as conn:`; every such block in one
request gets the same connection, and leaving the block does not release it.
Lazy, so static files, the health check and error pages never take one.

Work that outlives the response (the import job, SSE, the notifier) or that
streams a large file (the exports) takes its own connection from the pool instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from crm.errors import Unavailable
from crm.i18n import N_, gettext

log = logging.getLogger(__name__)

# A full pool answers "busy" after this long instead of letting requests queue forever.
ACQUIRE_TIMEOUT_SECONDS = 5.0
BUSY_MESSAGE = N_("the CRM is busy; try again in a moment")  # translated where it is said

SCOPE_KEY = "pbxcrm.connection"


class _RequestConnection:
    def __init__(self, scope: Scope):
        self._scope = scope
        self._conn: asyncpg.Connection | None = None

    async def get(self) -> asyncpg.Connection:
        if self._conn is None:
            try:
                self._conn = await self._scope["app"].state.pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS)
            except TimeoutError:
                raise Unavailable(gettext(BUSY_MESSAGE)) from None
        return self._conn

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await self._scope["app"].state.pool.release(conn)
            except Exception:  # a broken connection: the pool has already dropped it
                log.warning("releasing the request's connection failed", exc_info=True)


class ConnectionMiddleware:
    """Gives each HTTP request a lazily acquired connection and releases it at the end."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder = scope[SCOPE_KEY] = _RequestConnection(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            await holder.release()


@contextlib.asynccontextmanager
async def scope_connection(scope: Scope) -> AsyncIterator[asyncpg.Connection]:
    holder = scope.get(SCOPE_KEY)
    if holder is None:  # outside the middleware: a connection for this block only
        async with scope["app"].state.pool.acquire() as conn:
            yield conn
        return
    yield await holder.get()


def connection(request: HTTPConnection) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
    """The request's connection (see the module's docstring)."""
    return scope_connection(request.scope)
