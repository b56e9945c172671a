"""Jinja2 templates, autoescaped, with the CSRF token and the user in every page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.templating import Jinja2Templates

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    ctx = {"user": request.scope.get("user"), "csrf_token": request.scope.get("csrf_token", "")}
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
