"""CSRF protection for every state-changing request (double-submit cookie).

The token lives in a cookie and is echoed by every form (hidden field
`csrf_token`) or script (header X-CSRF-Token). Never from the query string: a
URL lands in access logs, Referer headers and the browser's history. A
multipart form (a file upload) carries the field first; the middleware parses
the body as it streams, keeps only the bytes up to that field (at most
MAX_FORM_BYTES) and hands them on with the rest of the stream untouched.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm import i18n
from crm.i18n import gettext as _
from web.locale import browser_language
from web.machine_paths import is_machine_path
from web.public_paths import is_public_chat_path

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
        if scope["type"] != "http" or is_machine_path(scope["path"]) or is_public_chat_path(scope["path"]):
            await self.app(scope, receive, send)  # a machine's request: it proves itself (web/machine_paths.py)
            return
        conn = HTTPConnection(scope)
        cookie_token = conn.cookies.get(COOKIE)
        token = cookie_token or secrets.token_urlsafe(32)
        scope["csrf_token"] = token

        if scope["method"] not in SAFE_METHODS:
            if not self._same_origin(conn):
                with i18n.using(browser_language(scope)):
                    refusal = _forbid(_("cross-origin request refused"))
                await refusal(scope, receive, send)
                return
            submitted, receive = await self._submitted_token(conn, scope, receive)
            if not cookie_token or not submitted or not hmac.compare_digest(submitted, cookie_token):
                with i18n.using(browser_language(scope)):
                    refusal = _forbid(_("CSRF token missing or wrong: reload the page and try again"))
                await refusal(scope, receive, send)
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
            return (values[0] if values else None), _replay([body], receive, more_body=False)
        if content_type.startswith("multipart/form-data"):
            return await _multipart_token(content_type, receive)
        return None, receive


def _forbid(reason: str) -> PlainTextResponse:
    return PlainTextResponse(_("403 Forbidden: %(reason)s") % {"reason": reason}, status_code=403)


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


async def _multipart_token(content_type: str, receive: Receive) -> tuple[str | None, Receive]:
    """The csrf_token field of a multipart body, reading no further than it (nor MAX_FORM_BYTES)."""
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        return None, receive
    state: dict = {"name": None, "field": b"", "value": b"", "header": b"", "token": None}

    def on_part_begin():
        state["name"], state["value"] = None, b""

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["header"] += data[start:end]

    def on_header_end():
        if state["field"].lower() == b"content-disposition":
            state["name"] = parse_options_header(state["header"])[1].get(b"name")
        state["field"], state["header"] = b"", b""

    def on_part_data(data, start, end):
        if state["name"] == FIELD.encode() and len(state["value"]) < 1024:
            state["value"] += data[start:end]

    def on_part_end():
        if state["name"] == FIELD.encode() and state["token"] is None:
            state["token"] = state["value"].decode("latin-1")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end})
    chunks, size, more = [], 0, True
    while more and state["token"] is None and size <= MAX_FORM_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        chunks.append(chunk)
        size += len(chunk)
        try:
            parser.write(chunk)
        except MultipartParseError:
            return None, receive
    return state["token"], _replay(chunks, receive, more_body=more)


def _replay(chunks: list[bytes], receive: Receive, *, more_body: bool) -> Receive:
    """The body we read, once; after that the real stream (the rest of it, or disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": more_body}
        return await receive()

    return replay
