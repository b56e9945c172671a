"""The one place errors become responses: JSON under /api/, a page elsewhere."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from crm.errors import DomainError, ValidationError
from web import headers
from web.templating import render

log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def domain_error_json(exc: DomainError) -> JSONResponse:
    body: dict = {"error": str(exc)}
    if isinstance(exc, ValidationError):
        body["errors"] = exc.errors
    owner = getattr(exc, "owner", None)
    if owner:
        body["owner"] = {"id": owner["id"], "name": owner["display_name"], "kind": owner["kind"]}
    return JSONResponse(body, status_code=exc.status)


async def http_error(request: Request, exc: HTTPException):
    if wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return await render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                        status_code=exc.status_code)


async def domain_error(request: Request, exc: DomainError):
    if wants_json(request):
        return domain_error_json(exc)
    return await render(request, "error.html", {"status": exc.status, "message": str(exc)},
                        status_code=exc.status)


async def server_error(request: Request, exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "something went wrong on our side; it has been logged"
    # Starlette answers this one outside the middleware stack: the headers are added here.
    if wants_json(request):
        return headers.apply_to(JSONResponse({"error": message}, status_code=500), request.url.path)
    return headers.apply_to(await render(request, "error.html", {"status": 500, "message": message}, status_code=500),
                            request.url.path)


EXCEPTION_HANDLERS = {HTTPException: http_error, DomainError: domain_error, Exception: server_error}
