"""Login sessions: a random token in an HttpOnly cookie, its hash in PostgreSQL.

Every request but the public ones needs a live session of an active user;
blocking or deleting a user ends their sessions at the next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from starlette.datastructures import URL
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from crm import i18n
from crm.i18n import gettext as _
from crm.users import queries as users_q
from web.db import ACQUIRE_TIMEOUT_SECONDS, BUSY_MESSAGE
from web.locale import browser_language
from web.machine_paths import is_machine_path
from web.public_paths import is_public_chat_path
from web.urls import path_for

COOKIE = "pbxcrm_session"
# A login whose password was right and whose second factor is still to come (web/views/second_factor.py).
PENDING_COOKIE = "pbxcrm_second_factor"
PUBLIC_PREFIXES = ("/login", "/static/", "/healthz")


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def current_token_hash(conn: HTTPConnection) -> bytes | None:
    """The hash of this request's session token, to keep that session when ending the others."""
    token = conn.cookies.get(COOKIE)
    return token_hash(token) if token else None


async def open_session(conn, user_id: int, hours: int, remote_addr: str | None) -> str:
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)
    await users_q.insert_session(conn, token_hash(token), user_id, expires, remote_addr)
    return token


def set_session_cookie(response: Response, token: str, hours: int, secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=hours * 3600, httponly=True, samesite="lax",
                        secure=secure, path="/")


async def close_session(conn, token: str | None) -> None:
    if token:
        await users_q.delete_session(conn, token_hash(token))


class AuthMiddleware:
    """Sets the logged-in user (a dict: id, login, role, ...), read by views as `request.user`,
    or turns the request away. Static files need no user: their requests never touch the database."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        user = None
        token = conn.cookies.get(COOKIE)
        if is_public_chat_path(scope["path"]):
            # The web chat's widget and visitor socket (web/public_paths.py): a visitor is nobody's user,
            # even in a browser that is also logged in here.
            scope["user"] = None
            await self.app(scope, receive, send)
            return
        if token and not scope["path"].startswith("/static/"):
            # A connection of its own, not the request's: that one is held until the response
            # ends, which for the screen pop's event stream is as long as the tab stays open,
            # and for a login while the password is hashed.
            try:
                async with scope["app"].state.pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as db:
                    row = await users_q.session_user(db, token_hash(token))
            except TimeoutError:
                with i18n.using(browser_language(scope)):
                    busy = JSONResponse({"error": i18n.gettext(BUSY_MESSAGE)}, status_code=503)
                await busy(scope, receive, send)
                return
            user = dict(row) if row else None
        scope["user"] = user
        if user is None and not scope["path"].startswith(PUBLIC_PREFIXES) and not is_machine_path(scope["path"]):
            await self._refuse(conn)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _refuse(conn: HTTPConnection) -> Response:
        pending = conn.cookies.get(PENDING_COOKIE) is not None
        if conn.url.path.startswith("/api/") or conn.headers.get("accept", "").startswith("application/json"):
            # Before LocaleMiddleware: in the browser's language.
            with i18n.using(browser_language(conn.scope)):
                if pending:
                    return JSONResponse({"error": _("second factor required: send the code from your app to %(url)s")
                                         % {"url": path_for(conn, "second_factor.code_page")}}, status_code=401)
                return JSONResponse({"error": _("login required")}, status_code=401)
        if pending:
            return RedirectResponse(path_for(conn, "second_factor.code_page"), status_code=302)
        target = conn.url.path + (f"?{conn.url.query}" if conn.url.query else "")
        login_url = URL(path_for(conn, "auth.login_page")).include_query_params(next=target)
        return RedirectResponse(login_url, status_code=302)
