"""Login and logout."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.users.accounts import authenticate
from web import sessions
from web.templating import render

log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def login_page(request: Request):
    if request.scope.get("user"):
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=302)
    return await render(request, "login.html", {"next": request.query_params.get("next", "")})


async def login_submit(request: Request):
    form = await request.form()
    login, password = str(form.get("login", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    settings = request.app.state.settings
    async with request.app.state.pool.acquire() as conn:
        user = await authenticate(conn, login, password) if login and password else None
    if user is None:
        log.info("failed login for %r from %s", login, request.client.host if request.client else "?")
        return await render(request, "login.html", {"error": "Wrong login or password", "login": login,
                                              "next": target}, status_code=400)
    token = await sessions.open_session(request.app.state.pool, user["id"], settings.session_hours,
                                        request.client.host if request.client else None)
    response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(response, token, settings.session_hours, settings.cookie_secure)
    log.info("user %s logged in", user["login"])
    return response


async def logout(request: Request):
    await sessions.close_session(request.app.state.pool, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
