"""JSON API for users (admins only): the list and create routes lead to the admin pages' views."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import NotFound
from crm.i18n import _
from crm.users import queries as users_q
from crm.users.accounts import set_password
from web.db import connection
from web.permissions import require_role
from web.schemas import PasswordIn
from web.validation import json_body
from web.views import admin


@require_role("admin")
async def reset_password(request: Request):
    """An admin sets a user's password; the user's sessions end."""
    body = await json_body(request, PasswordIn)
    async with connection(request) as conn:
        target = await users_q.user_by_id(conn, request.path_params["id"])
        if target is None or target["deleted_at"] is not None:
            raise NotFound(_("no such user"))
        ended = await set_password(conn, target["login"], body.password, by=request.user["id"],
                                   force_change=body.force_change)
    return JSONResponse({"id": target["id"], "sessions_ended": ended, "must_change_password": body.force_change})


routes = [
    # The same views as the admin's pages (web/views/admin.py); under /api/ they answer JSON.
    Route("/api/users", admin.users_list, name="api_users.list_users", methods=["GET"]),
    Route("/api/users", admin.users_create, name="api_users.create", methods=["POST"]),
    Route("/api/users/{id:int}/password", reset_password, name="api_users.reset_password", methods=["POST"]),
]
