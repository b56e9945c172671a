"""The language and clock of each request (issue 14).

Language: the user's setting, then the call centre's (app_settings 'locale.language'),
then the browser's Accept-Language, then English. Clock: the user's zone, then the call
centre's (PBXCRM_TIMEZONE). Both are set for the request's whole life in crm.i18n's
context variable and `scope["locale"]`, so that templates, error messages raised in crm/,
Excel exports and background jobs started here all speak the same language.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from crm import appsettings, i18n
from crm.defaults import DEFAULT_TIMEZONE
from web.db import ACQUIRE_TIMEOUT_SECONDS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestLocale:
    language: str  # "ru" | "en"
    zone: str  # an IANA zone name


def valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


def browser_language(scope: Scope) -> str:
    """The browser's language (Accept-Language), else English: for answers given before the
    session check, which run outside LocaleMiddleware (a refused login, a body too big)."""
    return i18n.choose(i18n.from_accept_language(Headers(scope=scope).get("accept-language")))


def request_locale(scope: Scope) -> RequestLocale:
    """The locale the LocaleMiddleware chose; the call centre's defaults outside it (tests, errors)."""
    chosen = scope.get("locale")
    if isinstance(chosen, RequestLocale):
        return chosen
    settings = scope["app"].state.settings if "app" in scope else None
    return RequestLocale(i18n.current(), getattr(settings, "timezone", None) or DEFAULT_TIMEZONE)


class LocaleMiddleware:
    """Runs inside AuthMiddleware: the user (with the call centre's language) is known by then."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        browser = Headers(scope=scope).get("accept-language")
        if user is not None:
            centre = user.get("centre_language")
        else:
            centre = await self._centre_language(scope)
        language = i18n.choose(user.get("language") if user else None, centre, i18n.from_accept_language(browser))
        settings = scope["app"].state.settings
        zone = valid_zone(user.get("timezone") if user else None) or settings.timezone
        scope["locale"] = RequestLocale(language, zone)
        # Not reset afterwards: each request runs in a task of its own, and the error handler
        # for a 500 (outside the middleware stack, same task) must still speak this language.
        i18n.activate(language)
        await self.app(scope, receive, send)

    @staticmethod
    async def _centre_language(scope: Scope) -> str | None:
        """Before login (the login page): the call centre's setting, or the browser's when the
        database does not answer in time (the page must still show)."""
        pool = getattr(scope["app"].state, "pool", None)
        if pool is None:
            return None
        try:
            async with pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as conn:
                return await appsettings.centre_language(conn)
        except Exception as e:  # the page is shown in the browser's language instead
            log.warning("could not read the call centre's language: %s", type(e).__name__)
            return None
