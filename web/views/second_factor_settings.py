"""The second factor in a user's own account (set up, recovery codes, turn off) and for the admin
(the roles that require it, a user's reset). The login's step is web/views/second_factor.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm.errors import DomainError, NotFound
from crm.i18n import N_, _
from crm.roles import ROLES
from crm.second_factor import queries as q
from crm.second_factor import service, totp
from crm.users import queries as users_q
from web import sessions
from web.client_address import client_address
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import wants_json
from web.schemas_second_factor import CodeForm, DisableForm, RolesForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body
from web.views.second_factor import qr_response

_DONE = {"off": N_("The second factor is turned off."), "reset": N_("The user's second factor is reset.")}


async def _account_page(request: Request, *, error: DomainError | None = None) -> Response:
    user = request.user
    async with connection(request) as conn:
        status = await service.status(conn, user["id"])
        required = user["role"] in await service.required_roles(conn)
    if wants_json(request):
        body = {"enrolled_at": status.enrolled_at, "setting_up": bool(status.pending_secret),
                "recovery_codes_left": status.recovery_codes_left, "required": required}
        if error is not None:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        return JSONResponse(jsonable(body))
    context = {"status": status, "required": required, "error": error,
               "done": _(_DONE["off"]) if request.query_params.get("done") == "off" else None}
    if status.pending_secret and not status.enrolled:
        context.update(secret=totp.formatted_secret(status.pending_secret),
                       qr_url=path_for(request, "second_factor_settings.account_qr"),
                       confirm_url=path_for(request, "second_factor_settings.account_confirm"))
    response = await render(request, "account_second_factor.html", context,
                            status_code=error.status if error else 200)
    if error is not None and error.status == 429:
        response.headers["Retry-After"] = str(getattr(error, "retry_after", 1))
    return response


async def account_page(request: Request):
    return await _account_page(request)


async def _enrol(request: Request, step) -> Response:
    """A setting-up step on the user's own account (`step(conn, user_id)`), then the account page;
    refused, the page says why."""
    try:
        async with connection(request) as conn:
            await step(conn, request.user["id"])
    except DomainError as e:
        return await _account_page(request, error=e)
    return RedirectResponse(path_for(request, "second_factor_settings.account_page"), status_code=303)


async def account_start(request: Request):
    return await _enrol(request, service.start_enrolment)


async def account_restart(request: Request):
    """A new secret in place of the one being set up (the QR code was seen by someone, say)."""
    return await _enrol(request, service.restart_enrolment)


async def account_qr(request: Request):
    async with connection(request) as conn:
        status = await service.status(conn, request.user["id"])
    return qr_response(None if status.enrolled else status.pending_secret, request.user["login"])


async def _codes_page(request: Request, codes: list[str]) -> Response:
    if wants_json(request):
        return JSONResponse({"recovery_codes": codes})
    return await render(request, "second_factor_codes.html", {
        "codes": codes, "continue_url": path_for(request, "second_factor_settings.account_page")})


async def account_confirm(request: Request):
    try:
        form, _raw = await form_body(request, CodeForm)
        async with connection(request) as conn:
            codes = await service.confirm_enrolment(conn, request.user["id"], form.code, client_address(request))
    except DomainError as e:
        return await _account_page(request, error=e)
    return await _codes_page(request, codes)


async def account_recovery_codes(request: Request):
    """New recovery codes, for a current code from the app; the old ones stop working."""
    try:
        form, _raw = await form_body(request, CodeForm)
        async with connection(request) as conn:
            codes = await service.regenerate_recovery_codes(conn, request.user["id"], form.code,
                                                            client_address(request))
    except DomainError as e:
        return await _account_page(request, error=e)
    return await _codes_page(request, codes)


async def account_disable(request: Request):
    try:
        form, _raw = await form_body(request, DisableForm)
        async with connection(request) as conn:
            await service.disable(request.app.state.pool, conn, request.user, code=form.code,
                                  password=form.password, address=client_address(request))
    except DomainError as e:
        return await _account_page(request, error=e)
    return RedirectResponse(path_for(request, "second_factor_settings.account_page") + "?done=off", status_code=303)


# -- the admin's -----------------------------------------------------------------------------

async def _admin_page(request: Request, *, error: DomainError | None = None) -> Response:
    async with connection(request) as conn:
        required = await service.required_roles(conn)
        users = await q.users_with_status(conn)
    if wants_json(request):
        if error is not None:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        return JSONResponse(jsonable({"required_roles": required, "users": [
            {"id": u["id"], "login": u["login"], "role": u["role"], "enrolled_at": u["enrolled_at"],
             "recovery_codes_left": u["codes_left"]} for u in users]}))
    done = request.query_params.get("done")
    return await render(request, "admin_second_factor.html", {
        "roles": ROLES, "required": required, "users": users, "error": error,
        "done": _(_DONE[done]) if done in _DONE else None}, status_code=error.status if error else 200)


@require_role("admin")
async def admin_page(request: Request):
    return await _admin_page(request)


@require_role("admin")
async def admin_roles(request: Request):
    """The roles whose users must give a second factor."""
    try:
        form, _raw = await form_body(request, RolesForm)
        async with connection(request) as conn:
            await service.set_required_roles(conn, request.user["id"], list(form.roles),
                                             keep_session=sessions.current_token_hash(request),
                                             address=client_address(request))
    except DomainError as e:
        return await _admin_page(request, error=e)
    return RedirectResponse(path_for(request, "second_factor_settings.admin_page"), status_code=303)


@require_role("admin")
async def admin_reset(request: Request):
    """A user's second factor gone (a lost phone): set up again at the next login if the role requires it."""
    user_id = request.path_params["id"]
    async with connection(request) as conn:
        if await users_q.user_by_id(conn, user_id) is None:
            raise NotFound(_("no user %(id)d") % {"id": user_id})
        await service.reset(conn, request.user["id"], user_id, client_address(request))
    return RedirectResponse(path_for(request, "second_factor_settings.admin_page") + "?done=reset", status_code=303)


routes = [
    Route("/account/second-factor", account_page, name="second_factor_settings.account_page", methods=["GET"]),
    Route("/account/second-factor/start", account_start, name="second_factor_settings.account_start",
          methods=["POST"]),
    Route("/account/second-factor/restart", account_restart, name="second_factor_settings.account_restart",
          methods=["POST"]),
    Route("/account/second-factor/qr.svg", account_qr, name="second_factor_settings.account_qr", methods=["GET"]),
    Route("/account/second-factor/confirm", account_confirm, name="second_factor_settings.account_confirm",
          methods=["POST"]),
    Route("/account/second-factor/recovery-codes", account_recovery_codes,
          name="second_factor_settings.account_recovery_codes", methods=["POST"]),
    Route("/account/second-factor/disable", account_disable, name="second_factor_settings.account_disable",
          methods=["POST"]),
    Route("/admin/second-factor", admin_page, name="second_factor_settings.admin_page", methods=["GET"]),
    Route("/admin/second-factor/roles", admin_roles, name="second_factor_settings.admin_roles", methods=["POST"]),
    Route("/admin/users/{id:int}/second-factor/reset", admin_reset, name="second_factor_settings.admin_reset",
          methods=["POST"]),
]
