"""Jinja2 templates, autoescaped, with what every page shows: the user, the CSRF
token, the section names an admin chose, and the user's collapsed cards."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from crm import appsettings
from crm.calls.route import route_text
from crm.counterparties import tray

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters["route_text"] = route_text
templates.env.filters["fromjson"] = lambda value: json.loads(value) if isinstance(value, str) else value


async def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    user = request.scope.get("user")
    ctx = {"user": user, "csrf_token": request.scope.get("csrf_token", ""),
           "labels": appsettings.DEFAULTS, "tray": []}
    pool = getattr(request.app.state, "pool", None)
    if pool is not None:
        async with pool.acquire() as conn:
            ctx["labels"] = await appsettings.get_all(conn)
            if user:
                ctx["tray"] = await tray.tray(conn, user["id"])
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
