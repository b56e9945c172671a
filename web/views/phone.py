"""The browser phone (issue 19): the page shell that keeps it across pages, its SIP account, and
the user's choice of which phone rings.

The shell (/phone) is opt-in: only a user whose phone mode is browser or both is sent there (app.js
does it on the first page such a user opens). It holds the phone and shows the CRM's pages in an
iframe, so following a link replaces the iframe's page, never the phone's, and a call goes on. The
pages themselves are the same as without it (their screen pop, click-to-call and tests unchanged).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm.dialing import queries as dialing_q
from crm.errors import DomainError, NotFound
from crm.i18n import gettext as _
from crm.webrtc.credentials import endpoint_name, password
from web.db import connection
from web.schemas import PhoneModeForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body

log = logging.getLogger(__name__)

BROWSER_MODES = ("browser", "both")
LANDING = "/clients"


def has_browser_phone(user: dict | None) -> bool:
    return bool(user and user.get("extension") and user.get("phone_mode") in BROWSER_MODES)


def inner_address(to: str | None) -> str:
    """The page the shell shows: a path of this site only (never //host or a scheme), not the shell."""
    if not to or not to.startswith("/") or to.startswith("//") or "\\" in to or to.startswith("/phone"):
        return LANDING
    return to


async def shell(request: Request) -> Response:
    """GET /phone?to=/clients: the phone, and the page `to` under it."""
    to = inner_address(request.query_params.get("to"))
    if not has_browser_phone(request.user):
        return RedirectResponse(to, status_code=303)
    return await render(request, "phone_shell.html", {"inner": to})


async def account(request: Request) -> JSONResponse:
    """GET /api/phone: the logged-in user's own browser endpoint and its password (nobody else's)."""
    user = request.user
    if not has_browser_phone(user):
        raise NotFound(_("you have no browser phone: choose it on your account page"))
    settings = request.app.state.settings
    extension = user["extension"]
    name = endpoint_name(extension)
    host = settings.webrtc_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return JSONResponse({"ws_url": settings.webrtc_url, "uri": f"sip:{name}@{host}", "user": name,
                         "password": password(settings.webrtc_secret, extension), "extension": extension,
                         "display_name": user["full_name"], "mode": user["phone_mode"]})


async def mode_submit(request: Request) -> Response:
    """POST /account/phone: which of the user's phones ring (desk, browser, both)."""
    from web.views.auth import _account_page

    try:
        form, _fields = await form_body(request, PhoneModeForm)
        async with connection(request) as conn:
            await dialing_q.set_own_phone_mode(conn, request.user["id"], form.phone_mode)
    except DomainError as e:
        return await _account_page(request, error=e)
    log.info("user %s: phone mode %s", request.user["id"], form.phone_mode)
    return RedirectResponse(path_for(request, "auth.account_page") + "?saved=1", status_code=303)


routes = [
    Route("/phone", shell, name="phone.shell", methods=["GET"]),
    Route("/api/phone", account, name="phone.account", methods=["GET"]),
    Route("/account/phone", mode_submit, name="phone.mode_submit", methods=["POST"]),
]
