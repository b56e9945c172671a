"""What an outsourcing customer's user may reach (issue 22, G3): a short list of pages by their route
names - its orders' calls, their recordings, its SMS, the call statistics over those, their Excel
files, its orders, and its own account. Every other route answers as an unknown path does (404, not
403: a customer learns nothing of what else there is), checked on every request before the view
runs; `/` takes a customer to its calls.

Which rows those pages show is the call rules' and the SMS list's business (crm/customers_scope.py):
this middleware only keeps a customer off every other page, however it is reached. It runs after the
session check and the request's language (web/app.py), so the 404 is in the customer's language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from jinja2 import pass_context
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from crm.roles import is_customer
from web.errors import http_error
from web.templating import templates
from web.urls import path_for

log = logging.getLogger(__name__)

HOME = "home"
CALLS = "calls.calls_list"
# The routes a customer's user reaches, by name (web/app.py, web/views/*.py).
CUSTOMER_ROUTES = frozenset({
    # its orders' calls, their pages and recordings; its SMS; the statistics over its calls
    CALLS, "calls.calls_api", "call_page.call_page", "call_page.call_json", "recordings.play",
    "sms_list.sms_list", "sms_list.sms_api", "reports.calls_report", "reports.calls_report_api",
    # their Excel files
    "export.calls_export", "export.sms_export", "export.calls_report_export",
    # its orders (web/views/orders.py)
    "orders", "order",
    # signing in and out, its account, its password and second factor
    HOME, "auth.login_page", "auth.login_submit", "auth.logout", "auth.account_page", "auth.account_submit",
    "auth.password_page", "auth.password_submit",
    "second_factor.code_page", "second_factor.code_submit", "second_factor.enrol_page",
    "second_factor.enrol_submit", "second_factor.enrol_qr",
    "second_factor_settings.account_page", "second_factor_settings.account_start",
    "second_factor_settings.account_restart", "second_factor_settings.account_qr",
    "second_factor_settings.account_confirm", "second_factor_settings.account_recovery_codes",
    "second_factor_settings.account_disable",
    # its own saved filters of those lists (web/views/filters.py)
    "filters.save", "filters.delete",
    # the stylesheet and scripts; the page's event stream (web/pops.py: only this user's own pops and
    # notifications - a customer gets none - but every page's script opens it)
    "static", "pops.events",
    # the web chat's widget, a public script any site loads (issue 23; web/public_paths.py)
    "chat_public.widget",
})


def route_name(scope: Scope) -> str | None:
    """The name of the route this request goes to (a wrong method still names it), None: no route."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return None
    partial = None
    for route in router.routes:
        match, _child = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "name", None)
        if match == Match.PARTIAL and partial is None:
            partial = getattr(route, "name", None)
    return partial


def may_reach(user: Mapping | None, name: str | None) -> bool:
    """May this user reach the route of this name? Everyone but a customer's user: every route."""
    if user is None or not is_customer(user):
        return True
    return name in CUSTOMER_ROUTES


def has_route(request: Request, name: str) -> bool:
    """Does the app have a route of this name that this request's user may reach (the nav's links)?"""
    if not may_reach(request.scope.get("user"), name):
        return False
    return any(getattr(route, "name", None) == name for route in request.app.router.routes)


# The nav's links: {% if has_route("orders") %} (web/templates/_nav.html). Registered here, where the
# list is, as web/templating.py cannot import this module (it renders through web/errors.py).
templates.env.globals["has_route"] = pass_context(lambda ctx, name: has_route(ctx["request"], name))


class CustomerAccessMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        if user is None or not is_customer(user):
            await self.app(scope, receive, send)
            return
        name = route_name(scope)
        request = Request(scope, receive)
        response: Response
        if name == HOME:
            response = RedirectResponse(path_for(request, CALLS), status_code=302)
        elif may_reach(user, name):
            await self.app(scope, receive, send)
            return
        else:
            log.info("customer user %s kept off %s %s (%s)", user["login"], scope["method"], scope["path"], name)
            response = await http_error(request, HTTPException(404))
        await response(scope, receive, send)
