"""CSRF protection for every state-changing request (double-submit cookie).

The token lives in a cookie and is echoed by every form (hidden field
`csrf_token`) or script (header X-CSRF-Token). Multipart forms, whose body we
do not buffer, carry it in the query string of their action URL.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "pbxcrm_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A urlencoded form bigger than this is not one of ours.
MAX_FORM_BYTES = 1024 * 1024


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, secure_cookie: bool = False):
        self.app = app
        self.secure_cookie = secure_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        cookie_token = conn.cookies.get(COOKIE)
        token = cookie_token or secrets.token_urlsafe(32)
        scope["csrf_token"] = token

        if scope["method"] not in SAFE_METHODS:
            if not self._same_origin(conn):
                await _forbid("cross-origin request refused")(scope, receive, send)
                return
            submitted, receive = await self._submitted_token(conn, scope, receive)
            if not cookie_token or not submitted or not hmac.compare_digest(submitted, cookie_token):
                await _forbid("CSRF token missing or wrong: reload the page and try again")(scope, receive, send)
                return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and cookie_token is None:
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self.secure_cookie else ""
                headers.append("set-cookie", f"{COOKIE}={token}; Path=/; SameSite=Strict; HttpOnly{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    @staticmethod
    def _same_origin(conn: HTTPConnection) -> bool:
        origin = conn.headers.get("origin")
        if not origin or origin == "null":
            return origin is None
        host = conn.headers.get("host", "")
        return origin.split("://", 1)[-1] == host

    @staticmethod
    async def _submitted_token(conn: HTTPConnection, scope: Scope, receive: Receive):
        header = conn.headers.get(HEADER)
        if header:
            return header, receive
        content_type = conn.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                return None, receive
            values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(FIELD)
            return (values[0] if values else None), _replay(body, receive)
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(FIELD)
        return (values[0] if values else None), receive


def _forbid(reason: str) -> PlainTextResponse:
    return PlainTextResponse(f"403 Forbidden: {reason}", status_code=403)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body we read, once; after that the real stream (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
