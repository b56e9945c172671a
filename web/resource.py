"""One view per resource, answering HTML or JSON (Datasette's views/base.py is the model).

The convention: a request gets JSON when it asks for it with `Accept: application/json`,
when its path ends in .json (/calls/7.json, as Datasette's), or when it comes through a
path under /api/ (those routes lead to the same views, so the API's URLs stay as they
were). Otherwise the view renders its template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from web.jsonout import jsonable
from web.templating import render

API_PREFIX = "/api/"


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (path.startswith(API_PREFIX) or path.endswith(".json")
            or "application/json" in request.headers.get("accept", ""))


def reads_json(request: Request) -> bool:
    """A write's body is JSON when it comes through /api/ (whatever its content type, as the
    API always read it) or says it is; otherwise it is a form."""
    return (request.url.path.startswith(API_PREFIX)
            or request.headers.get("content-type", "").split(";")[0].strip() == "application/json")


async def html_or_json(request: Request, template: str, context: dict | Callable[[], Any],
                       data: Callable[[], Any], status_code: int = 200):
    """The page (template rendered with context, or context() when it is a function) or the
    JSON body data() - each computed only when it is the answer."""
    if wants_json(request):
        return JSONResponse(jsonable(data()), status_code=status_code)
    ctx = context() if callable(context) else context
    return await render(request, template, ctx, status_code=status_code)
