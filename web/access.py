"""Per-request checks on a logged-in user, after the session check (issue 17):

- AllowListMiddleware: the session is not served from an address outside the user's
  IP allow-list (crm/allowlist), checked on every request, so a list changed while
  someone is logged in cuts them off at their next click: 403, a page or JSON.
- PasswordChangeMiddleware: a user whose password an admin reset with "must change"
  sees the change-password page until they have chosen their own (JSON: 403).

Both run inside LocaleMiddleware, so their refusals are in the user's language.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from crm.allowlist import service as allowlist
from crm.allowlist.rules import allowed, session_entries
from crm.i18n import gettext as _
from web.client_address import client_address
from web.public_paths import is_public_chat_path
from web.resource import wants_json
from web.templating import render
from web.urls import path_for

log = logging.getLogger(__name__)

# No user's data behind these: logging out always works, static files never touch the database.
_EXEMPT = ("/static/", "/logout")


def _checked(scope: Scope) -> dict | None:
    """The user this request is checked for, None when there is nothing to check."""
    if scope["type"] != "http" or scope["path"].startswith(_EXEMPT) or is_public_chat_path(scope["path"]):
        return None
    return scope.get("user")


async def _refusal(request: Request, status: int, message: str, **extra) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message, **extra}, status_code=status)
    return await render(request, "error.html", {"status": status, "message": message}, status_code=status,
                        database=False)


class AllowListMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = _checked(scope)
        if user is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        address = client_address(request)
        # The entries came with the user from the session check (crm/users/queries.py session_user).
        if not allowed(address, user, session_entries(user)):
            log.info("session of %s refused from %s: not on the allow-list", user["login"], address)
            response = await _refusal(request, 403, str(allowlist.AddressNotAllowed(address)), address=address)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class PasswordChangeMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = _checked(scope)
        if user is None or not user.get("must_change_password"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        page = path_for(request, "auth.password_page")
        if scope["path"] == page:
            await self.app(scope, receive, send)
            return
        response: Response
        if wants_json(request) or scope["method"] not in ("GET", "HEAD"):
            response = await _refusal(request, 403, _("You must change your password before going on"),
                                      change_password=page)
        else:
            response = RedirectResponse(page, status_code=303)
        await response(scope, receive, send)
