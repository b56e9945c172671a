"""The admin's page of shop sources (issue 24, K1): each shop's protocol and its settings, the URLs the
shop calls (the 1C exchange's, the webhook's) with the login and secret to give it, the rule for a new
order, the last delivery's outcome, and "pull now" for a source read from a URL. Every change is audited
(crm/shop_orders/sources.py)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, ValidationError
from crm.i18n import gettext as _
from crm.orders.sources import SourceError
from crm.shop_orders import loader
from crm.shop_orders import sources as shop_sources
from crm.shop_orders.model import SOURCE_KINDS
from crm.tasks import queries as tq
from crm.users import queries as users_q
from web.admin_list import list_and_edit, redirect_to, save_form
from web.db import connection
from web.permissions import require_role
from web.schemas_shop_orders import ShopSourceForm
from web.templating import render
from web.urls import path_for

_LIST = "shop_sources.list"


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None):
    async with connection(request) as conn:
        sources = await shop_sources.all_sources(conn)
        current = await shop_sources.get(conn, editing) if editing else None
        users = [u for u in await users_q.list_users(conn) if u["role"] != "customer"]
        types = await tq.task_types(conn)
    if typed is not None:
        values = typed
    elif current is not None:
        values = {k: current[k] for k in ShopSourceForm.model_fields if k != "secret"}
    else:
        values = {"kind": "webhook", "active": True, "task_due_minutes": 30}
    base = str(request.base_url).rstrip("/")
    return await render(request, "admin_shop_sources.html", {
        "sources": [{**s, "last_counts_dict": json.loads(s["last_counts"] or "{}")} for s in sources],
        "current": current, "values": values, "error": error, "kinds": SOURCE_KINDS,
        "users": users, "task_types": [t for t in types if not t["is_deal"]], "base": base,
        "field_errors": error.errors if isinstance(error, ValidationError) else {}},
        status_code=error.status if error else 200)


list_page, edit_page = list_and_edit(_page)


async def _save(conn, admin_id: int, source_id: int | None, form: ShopSourceForm, now) -> None:
    await shop_sources.save(conn, admin_id, source_id, shop_sources.SourceInput(
        name=form.name, kind=form.kind, login=form.login, secret=form.secret, url=form.url,
        reload_minutes=form.reload_minutes, active=form.active, manager_user_id=form.manager_user_id,
        notify_manager=form.notify_manager, make_task=form.make_task, task_type_id=form.task_type_id,
        task_due_minutes=form.task_due_minutes if form.task_due_minutes is not None else 30), now)


def _typed(raw) -> dict:
    """What the admin typed, the secret left out (never sent back to the page)."""
    return {k: str(raw.get(k, "")) for k in ShopSourceForm.model_fields if k != "secret"} | {
        k: bool(raw.get(k)) for k in ("active", "notify_manager", "make_task")}


@require_role("admin")
async def save(request: Request):
    now = request.app.state.settings.clock.now()
    return await save_form(request, ShopSourceForm, lambda conn, admin_id, source_id, form:
                           _save(conn, admin_id, source_id, form, now), _page, done=redirect_to(_LIST), typed=_typed)


@require_role("admin")
async def pull_now(request: Request):
    """POST /admin/shop-sources/{id}/pull: read the source's URL now (a failure shows on the page)."""
    settings = request.app.state.settings
    async with connection(request) as conn:
        source = await shop_sources.get(conn, request.path_params["id"])
        if not source["url"]:
            return await _page(request, error=ValidationError({"url": _("the source has no URL to read")}))
        try:
            await loader.pull(conn, source, region=settings.default_region, now=settings.clock.now(),
                              timezone=settings.timezone)
        except SourceError:
            pass  # recorded on the source, shown on the page
    return RedirectResponse(path_for(request, _LIST), status_code=303)


routes = [
    Route("/admin/shop-sources", list_page, name="shop_sources.list", methods=["GET"]),
    Route("/admin/shop-sources", save, name="shop_sources.create", methods=["POST"]),
    Route("/admin/shop-sources/{id:int}", edit_page, name="shop_sources.edit", methods=["GET"]),
    Route("/admin/shop-sources/{id:int}", save, name="shop_sources.update", methods=["POST"]),
    Route("/admin/shop-sources/{id:int}/pull", pull_now, name="shop_sources.pull", methods=["POST"]),
]
