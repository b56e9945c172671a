"""Login, logout, and a user's own account: language, time zone, password, follow me."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm import passwords
from crm.allowlist.service import AddressNotAllowed
from crm.dialing import queries as dialing_q
from crm.dialing.model import FollowMeInput
from crm.errors import DomainError, ValidationError
from crm.i18n import LANGUAGE_NAMES, _, ngettext
from crm.labels import TIMEZONE, choices, label
from crm.sms import service as sms_service
from crm.users.accounts import set_own_locale
from crm.users.login import LoginLocked, change_own_password, check_credentials
from web import sessions
from web.client_address import client_address
from web.db import connection
from web.errors import wants_json
from web.schemas import AccountForm, FollowMeForm
from web.schemas_sms_chat import SmsEmailForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body
from web.views import second_factor

log = logging.getLogger(__name__)

# Longer than any login or password we set: anything past this is not worth an argon2 run.
_MAX_FIELD = 1024


def _safe_next(request: Request, target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return path_for(request, "home")


def _address(request: Request) -> str | None:
    return client_address(request)


async def login_page(request: Request):
    if request.user:
        return RedirectResponse(_safe_next(request, request.query_params.get("next")), status_code=302)
    return await render(request, "login.html", {"next": request.query_params.get("next", "")})


async def _login_refused(request: Request, message: str, status: int, login: str, target: str,
                         headers: dict | None = None, extra: dict | None = None):
    if wants_json(request):
        return JSONResponse({"error": message, **(extra or {})}, status_code=status, headers=headers)
    response = await render(request, "login.html", {"error": message, "login": login, "next": target},
                            status_code=status)
    response.headers.update(headers or {})
    return response


async def login_submit(request: Request):
    form = await request.form()
    login, password = str(form.get("login", "")).strip(), str(form.get("password", ""))
    target = _safe_next(request, str(form.get("next", "")))
    settings = request.app.state.settings
    user = None
    if login and password and len(login) <= _MAX_FIELD and len(password) <= _MAX_FIELD:
        try:
            # The pool, not the request's connection: no connection is held while the password is hashed.
            user = await check_credentials(request.app.state.pool, login, password, _address(request))
        except LoginLocked as e:
            log.info("login %r from %s refused: locked for %d s", login[:100], _address(request), e.retry_after)
            return await _login_refused(request, str(e), e.status, login, target,
                                        headers={"Retry-After": str(e.retry_after)},
                                        extra={"retry_after": e.retry_after, "locked_until": e.until.isoformat()})
        except AddressNotAllowed as e:
            return await _login_refused(request, str(e), e.status, login, target)
        except passwords.Busy as e:
            message = str(e)
            return await _login_refused(request, message[:1].upper() + message[1:], e.status, login, target,
                                        headers={"Retry-After": "1"}, extra={"retry_after": 1})
    if user is None:
        return await _login_refused(request, _("Wrong login or password"), 400, login, target)
    # A second factor (issue 17): a code, or setting one up, comes before the session.
    pending = await second_factor.after_password(request, user, target)
    if pending is not None:
        return pending
    async with connection(request) as conn:
        token = await sessions.open_session(conn, user["id"], settings.session_hours, _address(request))
    response: Response
    if wants_json(request):
        response = JSONResponse({"id": user["id"], "login": user["login"], "role": user["role"]})
    else:
        response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(response, token, settings.session_hours, settings.cookie_secure)
    log.info("user %s logged in", user["login"])
    return response


async def logout(request: Request):
    async with connection(request) as conn:
        await sessions.close_session(conn, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse(path_for(request, "auth.login_page"), status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


async def password_page(request: Request):
    return await render(request, "account_password.html", {"done": request.query_params.get("done") == "1"})


async def password_submit(request: Request):
    form = await request.form()
    fields = {k: str(form.get(k, "")) for k in ("current_password", "new_password", "repeat_password")}
    try:
        if any(len(v) > _MAX_FIELD for v in fields.values()):
            raise DomainError(ngettext("a password has at most %(num)d character",
                                       "a password has at most %(num)d characters",
                                       passwords.MAX_LENGTH) % {"num": passwords.MAX_LENGTH})
        # The pool, not the request's connection: no connection is held while the password is hashed.
        await change_own_password(request.app.state.pool, request.user, current=fields["current_password"],
                                  new=fields["new_password"], repeat=fields["repeat_password"],
                                  address=_address(request), keep_session=sessions.current_token_hash(request))
    except DomainError as e:
        headers = {"Retry-After": str(getattr(e, "retry_after", 1))} if e.status in (429, 503) else {}
        response = await render(request, "account_password.html", {"error": e}, status_code=e.status)
        response.headers.update(headers)
        return response
    return RedirectResponse(path_for(request, "auth.password_page") + "?done=1", status_code=303)


def zone_offset(name: str) -> str:
    """The zone's offset from UTC now: "UTC+3", "UTC+5:30", "UTC-5"."""
    offset = dt.datetime.now(zoneinfo.ZoneInfo(name)).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def zone_choices() -> list[tuple[str, str]]:
    """The time zones a form offers, in the reader's words with their offset now."""
    return [(code, f"{words} ({zone_offset(code)})") for code, words in choices("timezone")]


async def _account_page(request: Request, *, values: dict | None = None, error: DomainError | None = None,
                        saved: bool = False, follow: dict | None = None):
    user, centre_zone = request.user, request.app.state.settings.timezone
    centre_language = user.get("centre_language")
    values = values if values is not None else {"language": user["language"] or "", "timezone": user["timezone"] or "",
                                                "day_start_hour": user.get("day_start_hour", 9)}
    # Follow me (issue 15): the form shows what is saved, or what was typed when it comes back with an error.
    follow = follow if follow is not None else {"mobile": user.get("mobile") or "",
                                                "follow_me_seconds": user.get("follow_me_seconds") or ""}
    zones = zone_choices()
    field_errors = error.errors if isinstance(error, ValidationError) else {}
    async with connection(request) as conn:
        sms_email = await sms_service.email_notify(conn, user["id"])
    return await render(request, "account.html", {
        "sms_email_notify": sms_email,
        "values": values, "languages": LANGUAGE_NAMES, "zones": zones, "error": error, "field_errors": field_errors,
        "saved": saved, "follow": follow,
        "phone_modes": [("desk", _("the desk phone")), ("browser", _("the browser phone (in this page)")),
                        ("both", _("both at once"))],
        "centre_language": LANGUAGE_NAMES.get(centre_language or "") or _("each browser's own"),
        "centre_zone": f"{label('timezone', centre_zone) if centre_zone in TIMEZONE else centre_zone} "
                       f"({zone_offset(centre_zone)})"}, status_code=error.status if error else 200)


async def account_page(request: Request):
    return await _account_page(request, saved=request.query_params.get("saved") == "1")


async def account_submit(request: Request):
    """The user's own language and time zone ("": the call centre's); the next page follows them."""
    raw = await request.form()
    try:
        form, _fields = await form_body(request, AccountForm)
        async with connection(request) as conn:
            await set_own_locale(conn, request.user["id"], form.language or None, form.timezone or None,
                                 form.day_start_hour)
    except DomainError as e:
        typed = {k: str(raw.get(k, "")) for k in ("language", "timezone", "day_start_hour")}
        return await _account_page(request, values=typed, error=e)
    return RedirectResponse(path_for(request, "auth.account_page") + "?saved=1", status_code=303)


async def follow_me_submit(request: Request):
    """The user's own mobile, and after how many seconds at the desk a call follows there (blank: never)."""
    raw = await request.form()
    try:
        form, _fields = await form_body(request, FollowMeForm)
        mobile, seconds = FollowMeInput(form.mobile, form.follow_me_seconds).cleaned(
            request.app.state.settings.default_region)
        async with connection(request) as conn:
            await dialing_q.set_own_follow_me(conn, request.user["id"], mobile=mobile, follow_me_seconds=seconds)
    except DomainError as e:
        return await _account_page(request, error=e, follow={k: str(raw.get(k, ""))
                                                             for k in ("mobile", "follow_me_seconds")})
    return RedirectResponse(path_for(request, "auth.account_page") + "?saved=1", status_code=303)


async def sms_email_submit(request: Request):
    """Whether incoming SMS on the user's cards are e-mailed to them too (issue 21), besides the browser."""
    form, _fields = await form_body(request, SmsEmailForm)
    async with connection(request) as conn:
        await sms_service.set_email_notify(conn, request.user["id"], form.sms_email_notify)
    return RedirectResponse(path_for(request, "auth.account_page") + "?saved=1", status_code=303)


routes = [
    Route("/login", login_page, name="auth.login_page", methods=["GET"]),
    Route("/login", login_submit, name="auth.login_submit", methods=["POST"]),
    Route("/logout", logout, name="auth.logout", methods=["POST"]),
    Route("/account", account_page, name="auth.account_page", methods=["GET"]),
    Route("/account", account_submit, name="auth.account_submit", methods=["POST"]),
    Route("/account/sms", sms_email_submit, name="auth.sms_email_submit", methods=["POST"]),
    Route("/account/follow-me", follow_me_submit, name="auth.follow_me_submit", methods=["POST"]),
    Route("/account/password", password_page, name="auth.password_page", methods=["GET"]),
    Route("/account/password", password_submit, name="auth.password_submit", methods=["POST"]),
]
