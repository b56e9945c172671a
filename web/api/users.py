"""JSON API for users (admins only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import NotFound
from crm.users import queries as users_q
from crm.users.accounts import NewUser, create_user, set_password
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.schemas import PasswordIn, UserIn
from web.validation import json_body


@require_role("admin")
async def list_users(request: Request):
    async with connection(request) as conn:
        users = await users_q.list_users(conn, include_deleted=True)
    return JSONResponse({"items": jsonable(users)})


@require_role("admin")
async def create(request: Request):
    body = await json_body(request, UserIn)
    new = NewUser(login=body.login, full_name=body.full_name, password=body.password, role=body.role,
                  extension=body.extension, email=body.email)
    async with connection(request) as conn:
        user = await create_user(conn, new)
    return JSONResponse(jsonable(user), status_code=201)


@require_role("admin")
async def reset_password(request: Request):
    """An admin sets a user's password; the user's sessions end."""
    password = (await json_body(request, PasswordIn)).password
    async with connection(request) as conn:
        target = await users_q.user_by_id(conn, request.path_params["id"])
        if target is None or target["deleted_at"] is not None:
            raise NotFound("no such user")
        ended = await set_password(conn, target["login"], password, by=request.user["id"])
    return JSONResponse({"id": target["id"], "sessions_ended": ended})


routes = [
    Route("/api/users", list_users, name="api_users.list_users", methods=["GET"]),
    Route("/api/users", create, name="api_users.create", methods=["POST"]),
    Route("/api/users/{id:int}/password", reset_password, name="api_users.reset_password", methods=["POST"]),
]
