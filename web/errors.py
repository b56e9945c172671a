"""The one place errors become responses: JSON under /api/, a page elsewhere.

Error pages never touch the database (a 404 renders while the database is down):
the nav shows the default section names and the user from the session check only.

Bad input (crm's ValidationError, which web/validation.py raises for wrong types and
sizes) is a 400 `{"error": ..., "fields": {field: message}}` in JSON; forms catch it
themselves and show the form again with each message next to its field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from crm.errors import DomainError, ValidationError
from crm.i18n import N_, gettext
from web import headers
from web.resource import wants_json
from web.templating import render
from web.validation import describe

log = logging.getLogger(__name__)

# Starlette's own refusals (an unknown path, a wrong method) say the status's phrase: in words here.
HTTP_PHRASES = {
    400: N_("Bad Request"), 401: N_("Unauthorized"), 403: N_("Forbidden"), 404: N_("Not Found"),
    405: N_("Method Not Allowed"), 413: N_("Content Too Large"), 429: N_("Too Many Requests"),
    500: N_("Internal Server Error"), 503: N_("Service Unavailable"),
}
SERVER_ERROR_MESSAGE = N_("something went wrong on our side; it has been logged")


def http_detail(exc: HTTPException) -> str:
    """The exception's message in the request's language (views raise theirs translated already)."""
    phrase = HTTP_PHRASES.get(exc.status_code)
    if phrase is not None and exc.detail == HTTPStatus(exc.status_code).phrase:
        return gettext(phrase)
    return exc.detail


def domain_error_json(exc: DomainError) -> JSONResponse:
    body: dict = {"error": str(exc)}
    if isinstance(exc, ValidationError):
        body["error"] = "; ".join(describe(exc.errors))  # the fields named in words, in the request's language
        body["fields"] = exc.errors
        body["errors"] = exc.errors  # the older name, kept for API clients
    owner = getattr(exc, "owner", None)
    if owner:
        body["owner"] = {"id": owner["id"], "name": owner["display_name"], "kind": owner["kind"]}
    return JSONResponse(body, status_code=exc.status)


async def http_error(request: Request, exc: HTTPException):
    message = http_detail(exc)
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
    return await render(request, "error.html", {"status": exc.status_code, "message": message},
                        status_code=exc.status_code, database=False)


async def domain_error(request: Request, exc: DomainError):
    if wants_json(request):
        return domain_error_json(exc)
    message = "; ".join(describe(exc.errors)) if isinstance(exc, ValidationError) else str(exc)
    return await render(request, "error.html", {"status": exc.status, "message": message},
                        status_code=exc.status, database=False)


async def too_large(request: Request, message: str):
    """413: a request body over web/limits.py's limit (checked before anything reads it)."""
    if wants_json(request) or request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": message}, status_code=413)
    return await render(request, "error.html", {"status": 413, "message": message}, status_code=413,
                        database=False)


async def server_error(request: Request, exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = gettext(SERVER_ERROR_MESSAGE)
    # Starlette answers this one outside the middleware stack: the headers are added here.
    if wants_json(request):
        return headers.apply_to(JSONResponse({"error": message}, status_code=500), request.url.path)
    return headers.apply_to(await render(request, "error.html", {"status": 500, "message": message}, status_code=500,
                                           database=False),
                            request.url.path)


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: http_error, DomainError: domain_error, Exception: server_error}
