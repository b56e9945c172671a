"""The one place errors become responses: JSON under /api/, a page elsewhere."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from web.templating import render

log = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


async def http_error(request: Request, exc: HTTPException):
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                  status_code=exc.status_code)


async def server_error(request: Request, exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "something went wrong on our side; it has been logged"
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=500)
    return render(request, "error.html", {"status": 500, "message": message}, status_code=500)


EXCEPTION_HANDLERS = {HTTPException: http_error, Exception: server_error}
