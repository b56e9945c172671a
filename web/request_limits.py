"""The outermost check on every request: its body is not too big, its query string has no NUL.

A body over the limit is refused with 413 before anything reads it (so a big form is
"too big", not "CSRF token missing"); the Excel import has a larger limit of its own.
A body sent without Content-Length is counted as it streams in. A NUL byte in a query
string value is a 400 naming the parameter: PostgreSQL text cannot hold it. Both answers
come before the user is known: in the browser's language.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm import i18n
from crm.errors import ValidationError
from crm.i18n import gettext as _
from web import errors, limits
from web.locale import browser_language
from web.validation import NUL_MESSAGE


class _TooLarge(Exception):
    pass


def body_limit(path: str) -> int:
    return limits.UPLOAD_BODY_BYTES.get(path, limits.MAX_BODY_BYTES)


def _nul_parameter(query_string: bytes) -> str | None:
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    return None


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = _nul_parameter(scope.get("query_string", b""))
        if bad:
            request = Request(scope, receive)
            with i18n.using(browser_language(scope)):
                refusal = await errors.domain_error(request, ValidationError({bad: i18n.gettext(NUL_MESSAGE)}))
            await refusal(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)
        megabytes = {"megabytes": limit // (1024 * 1024)}
        with i18n.using(browser_language(scope)):
            if scope["path"] in limits.UPLOAD_BODY_BYTES:
                message = _("the file is too big: at most %(megabytes)s MB") % megabytes
            else:
                message = _("the request is too big: at most %(megabytes)s MB") % megabytes
            response = await errors.too_large(request, message)
        await response(scope, receive, send)
