"""Jinja2 templates, autoescaped, with what every page shows: the user, the CSRF
token, the section names an admin chose, and the user's collapsed cards."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import pass_context
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from crm import appsettings, roles
from crm.calls.route import route_text
from crm.counterparties import tray
from crm.errors import ValidationError
from web import formatting
from web.db import connection
from web.validation import describe

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters["route_text"] = route_text
@pass_context
def url_path(ctx, name: str, **params) -> str:
    """The path of a named route (web/app.py and web/views/*.py name every route): links stay
    relative to this site, as `request.url_for` would make them absolute."""
    return str(ctx["request"].app.url_path_for(name, **params))


templates.env.globals["url_path"] = url_path
templates.env.globals["sees_reports"] = roles.sees_reports
templates.env.globals["is_admin"] = roles.is_admin
templates.env.filters["fromjson"] = lambda value: json.loads(value) if isinstance(value, str) else value


def page_zone(context) -> str:
    """The call centre's time zone, for the page being rendered."""
    try:
        return context["request"].app.state.settings.timezone
    except (KeyError, AttributeError):
        return formatting.DEFAULT_ZONE


# Every time and duration on a page goes through these (web/formatting.py).
templates.env.filters["local_time"] = pass_context(
    lambda ctx, value, seconds=False: formatting.local_time(value, page_zone(ctx), seconds))
templates.env.filters["local_date"] = pass_context(
    lambda ctx, value, time_of_day=None: formatting.local_date(value, page_zone(ctx), time_of_day))
templates.env.filters["duration"] = formatting.duration
# The zone's label alone, for a column of times that are already the call centre's (report periods).
templates.env.globals["zone_label"] = pass_context(lambda ctx: formatting.zone_label(
    formatting.local_now(page_zone(ctx))))


async def render(request: Request, name: str, context: dict | None = None, status_code: int = 200, *,
                 database: bool = True):
    """The page, with the section names an admin chose and the user's tray read from the
    database; database=False (error pages) shows the default names and no tray instead."""
    user = request.scope.get("user")  # unset when an error is answered before the session check
    ctx = {"user": user, "csrf_token": request.scope.get("csrf_token", ""),
           "labels": appsettings.DEFAULTS, "tray": []}
    if database and getattr(request.app.state, "pool", None) is not None:
        async with connection(request) as conn:
            ctx["labels"] = await appsettings.get_all(conn)
            if user:
                ctx["tray"] = await tray.tray(conn, user["id"])
    ctx.update(context or {})
    error = ctx.get("error")
    if isinstance(error, ValidationError) and "error_lines" not in ctx:
        # Bad input on a page that does not place messages by its fields: each one, in words, once.
        placed = ctx.get("field_errors") or {}
        ctx["error_lines"] = describe({k: v for k, v in error.errors.items() if k not in placed})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
