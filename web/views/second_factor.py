"""The login's second step (issue 17, G4): after a right password, a user with a second factor
(or whose role requires one) gets no session yet, only a short-lived pending login in a
cookie of its own; the code (or a recovery code) turns it into a session. A user whose role
requires a second factor and who has none sets one up here first.

web/views/auth.py's login calls after_password(); everything else of the step is here.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm.errors import DomainError
from crm.i18n import _
from crm.second_factor import queries as q
from crm.second_factor import service, totp
from crm.second_factor.totp import Step
from web import sessions
from web.client_address import client_address
from web.db import connection
from web.resource import wants_json
from web.schemas_second_factor import CodeForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body

log = logging.getLogger(__name__)

PENDING_MINUTES = 15


def _pending_hash(request: Request) -> bytes | None:
    token = request.cookies.get(sessions.PENDING_COOKIE)
    return sessions.token_hash(token) if token else None


def set_pending_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(sessions.PENDING_COOKIE, token, max_age=PENDING_MINUTES * 60, httponly=True,
                        samesite="lax", secure=secure, path="/")


async def after_password(request: Request, user: asyncpg.Record, target: str) -> Response | None:
    """Called by the login once the password is right: None when the session may open now, else the
    answer that sends the user to enter a code (or to set a second factor up), with no session."""
    async with connection(request) as conn:
        step = await service.login_step(conn, user)
        if step is Step.NONE:
            return None
        if step is Step.ENROL:
            await service.start_enrolment(conn, user["id"])
        token = secrets.token_urlsafe(32)
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=PENDING_MINUTES)
        await q.insert_pending(conn, sessions.token_hash(token), user["id"], expires, client_address(request), target)
    url = path_for(request, "second_factor.enrol_page" if step is Step.ENROL else "second_factor.code_page")
    response: Response
    if wants_json(request):
        message = (_("Your role requires a second factor: set it up at %(url)s") if step is Step.ENROL
                   else _("Second factor required: send the code from your app to %(url)s")) % {"url": url}
        response = JSONResponse({"error": message, "second_factor": step.value, "url": url}, status_code=401)
    else:
        response = RedirectResponse(url, status_code=303)
    set_pending_cookie(response, token, request.app.state.settings.cookie_secure)
    log.info("user %s: password right, second factor (%s) next", user["login"], step.value)
    return response


async def _pending_user(request: Request) -> asyncpg.Record | None:
    token_hash = _pending_hash(request)
    if token_hash is None:
        return None
    async with connection(request) as conn:
        return await q.pending_user(conn, token_hash)


def _back_to_login(request: Request) -> Response:
    if wants_json(request):
        response: Response = JSONResponse(
            {"error": _("Your login has expired or was not started: log in with your password again.")},
            status_code=401)
    else:
        response = RedirectResponse(path_for(request, "auth.login_page"), status_code=303)
    response.delete_cookie(sessions.PENDING_COOKIE, path="/")
    return response


async def _open_session(request: Request, pending: asyncpg.Record, response: Response) -> Response:
    """The pending login becomes a session: its cookie goes, the session's comes."""
    settings = request.app.state.settings
    async with connection(request) as conn:
        token_hash = _pending_hash(request)
        if token_hash is not None:
            await q.delete_pending(conn, token_hash)
        token = await sessions.open_session(conn, pending["id"], settings.session_hours, client_address(request))
    sessions.set_session_cookie(response, token, settings.session_hours, settings.cookie_secure)
    response.delete_cookie(sessions.PENDING_COOKIE, path="/")
    log.info("user %s logged in with a second factor", pending["login"])
    return response


async def _refused(request: Request, template: str, context: dict, error: DomainError) -> Response:
    headers = {"Retry-After": str(getattr(error, "retry_after", 1))} if error.status == 429 else {}
    if wants_json(request):
        body = {"error": str(error)} | ({"retry_after": error.retry_after}
                                        if isinstance(error, service.CodesLocked) else {})
        return JSONResponse(body, status_code=error.status, headers=headers)
    response = await render(request, template, {**context, "error": error}, status_code=error.status)
    response.headers.update(headers)
    return response


async def code_page(request: Request):
    pending = await _pending_user(request)
    if pending is None:
        return _back_to_login(request)
    async with connection(request) as conn:
        if await service.login_step(conn, pending) is Step.ENROL:
            return RedirectResponse(path_for(request, "second_factor.enrol_page"), status_code=303)
    return await render(request, "login_second_factor.html", {"pending": pending})


async def code_submit(request: Request):
    pending = await _pending_user(request)
    if pending is None:
        return _back_to_login(request)
    try:
        form, _raw = await form_body(request, CodeForm)
        async with connection(request) as conn:
            method = await service.verify(conn, pending["id"], form.code, client_address(request))
    except DomainError as e:
        return await _refused(request, "login_second_factor.html", {"pending": pending}, e)
    response: Response
    if wants_json(request):
        response = JSONResponse({"id": pending["id"], "login": pending["login"], "role": pending["role"],
                                 "second_factor": method})
    else:
        response = RedirectResponse(pending["next_path"], status_code=303)
    return await _open_session(request, pending, response)


async def _enrol_context(request: Request, pending: asyncpg.Record, secret: str) -> dict:
    return {"pending": pending, "secret": totp.formatted_secret(secret), "required": True,
            "qr_url": path_for(request, "second_factor.enrol_qr"),
            "confirm_url": path_for(request, "second_factor.enrol_submit")}


async def enrol_page(request: Request):
    """Setting up the second factor the role requires, before the first session: the QR code, the
    secret as text, and a code to confirm it."""
    pending = await _pending_user(request)
    if pending is None:
        return _back_to_login(request)
    async with connection(request) as conn:
        status = await service.status(conn, pending["id"])
        if status.enrolled:
            return RedirectResponse(path_for(request, "second_factor.code_page"), status_code=303)
        secret = status.pending_secret or await service.start_enrolment(conn, pending["id"])
    if wants_json(request):
        return JSONResponse({"secret": secret, "otpauth_uri": totp.provisioning_uri(secret, pending["login"])})
    return await render(request, "second_factor_enrol.html", await _enrol_context(request, pending, secret))


async def enrol_qr(request: Request):
    pending = await _pending_user(request)
    if pending is None:
        return _back_to_login(request)
    async with connection(request) as conn:
        status = await service.status(conn, pending["id"])
    return qr_response(status.pending_secret, pending["login"])


def qr_response(secret: str | None, login: str) -> Response:
    """The QR code of a secret being set up as an SVG image; 404 once set up (never shown again)."""
    if not secret:
        return Response(status_code=404)
    return Response(totp.qr_svg(totp.provisioning_uri(secret, login)), media_type="image/svg+xml",
                    headers={"cache-control": "no-store"})


async def enrol_submit(request: Request):
    pending = await _pending_user(request)
    if pending is None:
        return _back_to_login(request)
    secret = ""
    try:
        form, _raw = await form_body(request, CodeForm)
        async with connection(request) as conn:
            secret = (await service.status(conn, pending["id"])).pending_secret or ""
            codes = await service.confirm_enrolment(conn, pending["id"], form.code, client_address(request))
    except DomainError as e:
        return await _refused(request, "second_factor_enrol.html",
                              await _enrol_context(request, pending, secret), e)
    response: Response
    if wants_json(request):
        response = JSONResponse({"recovery_codes": codes, "login": pending["login"]})
    else:
        response = await render(request, "second_factor_codes.html",
                                {"codes": codes, "continue_url": pending["next_path"], "first": True})
    return await _open_session(request, pending, response)


routes = [
    Route("/login/second-factor", code_page, name="second_factor.code_page", methods=["GET"]),
    Route("/login/second-factor", code_submit, name="second_factor.code_submit", methods=["POST"]),
    Route("/login/second-factor/enrol", enrol_page, name="second_factor.enrol_page", methods=["GET"]),
    Route("/login/second-factor/enrol", enrol_submit, name="second_factor.enrol_submit", methods=["POST"]),
    Route("/login/second-factor/qr.svg", enrol_qr, name="second_factor.enrol_qr", methods=["GET"]),
]
