"""JSON API for users (admins only)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import NotFound, ValidationError
from crm.users import queries as users_q
from crm.users.accounts import NewUser, create_user, set_password
from web.jsonout import jsonable
from web.permissions import require_role


@require_role("admin")
async def list_users(request: Request):
    async with request.app.state.pool.acquire() as conn:
        users = await users_q.list_users(conn, include_deleted=True)
    return JSONResponse({"items": jsonable(users)})


@require_role("admin")
async def create(request: Request):
    try:
        body = json.loads(await request.body())
        new = NewUser(login=str(body["login"]), full_name=str(body["full_name"]), password=str(body["password"]),
                      role=str(body["role"]), extension=body.get("extension"), email=body.get("email"))
    except (ValueError, KeyError, TypeError):
        raise ValidationError({"body": "needs login, full_name, password and role"}) from None
    async with request.app.state.pool.acquire() as conn:
        user = await create_user(conn, new)
    return JSONResponse(jsonable(user), status_code=201)


@require_role("admin")
async def reset_password(request: Request):
    """An admin sets a user's password; the user's sessions end."""
    try:
        body = json.loads(await request.body())
        password = body["password"]
        if not isinstance(password, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValidationError({"password": "needs the new password as a string"}) from None
    async with request.app.state.pool.acquire() as conn:
        target = await users_q.user_by_id(conn, request.path_params["id"])
        if target is None or target["deleted_at"] is not None:
            raise NotFound("no such user")
        ended = await set_password(conn, target["login"], password, by=request.scope["user"]["id"])
    return JSONResponse({"id": target["id"], "sessions_ended": ended})


routes = [
    Route("/api/users", list_users, methods=["GET"]),
    Route("/api/users", create, methods=["POST"]),
    Route("/api/users/{id:int}/password", reset_password, methods=["POST"]),
]
