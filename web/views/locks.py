"""The admin's locked logins (issue 17): what the login throttling holds back, and lifting it."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError
from crm.users import locks, throttle
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import reads_json, wants_json
from web.schemas_access import LockLiftForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body


async def _page(request: Request, *, error: DomainError | None = None, lifted: bool = False):
    async with connection(request) as conn:
        current = await locks.current_locks(conn)
    if wants_json(request):
        return JSONResponse({"items": jsonable([dataclasses.asdict(lock) | {"wait_seconds": round(lock.wait_seconds)}
                                                for lock in current])})
    return await render(request, "admin_locks.html", {
        "locks": current, "error": error, "lifted": lifted,
        "waits": {(lock.scope, lock.key): throttle.in_words(lock.wait_seconds) for lock in current
                  if lock.wait_seconds > 0}}, status_code=error.status if error else 200)


@require_role("admin")
async def locks_page(request: Request):
    """The locks, or (JSON) `{"items": [{scope, key, failures, wait_seconds, until, user_id, ...}]}`."""
    return await _page(request, lifted=request.query_params.get("lifted") == "1")


@require_role("admin")
async def lift(request: Request):
    try:
        if reads_json(request):
            body = await json_body(request, LockLiftForm)
        else:
            body, _form = await form_body(request, LockLiftForm)
        async with connection(request) as conn:
            failures = await locks.lift(conn, request.user["id"], body.scope, body.key)
    except DomainError as e:
        if wants_json(request) or reads_json(request):
            raise
        return await _page(request, error=e)
    if wants_json(request) or reads_json(request):
        return JSONResponse({"scope": body.scope, "key": body.key, "failures": failures})
    return RedirectResponse(path_for(request, "locks.locks_page") + "?lifted=1", status_code=303)


routes = [
    Route("/admin/locks", locks_page, name="locks.locks_page", methods=["GET"]),
    Route("/admin/locks/lift", lift, name="locks.lift", methods=["POST"]),
]
