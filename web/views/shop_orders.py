"""Shop order pages (issue 24, K1): the Orders list (filters: source, status, period, counterparty, sum,
open only, the card's tags; JSON too; its Excel file is web/views/export.py's), a shop order's page (its
lines, status history, calls, and a Call button), and the click-to-call from it, which links the call.

Every row, count and export keeps to what crm/shop_orders/permissions.py lets the reader see; a
customer's user gets 404 here (web/customer_access.py: these routes are not on its list)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import audit
from crm.clicktocall import queries as c2c_q
from crm.errors import DomainError, Forbidden, NotFound, ValidationError
from crm.i18n import gettext as _
from crm.shop_orders import permissions
from crm.shop_orders import queries as sq
from web.call_rules import visible
from web.db import connection
from web.list_pages import filter_names, page_json
from web.paging import Page
from web.resource import wants_json
from web.schemas_shop_orders import ShopOrderListQuery
from web.templating import render
from web.urls import path_for
from web.validation import query as parse_query

log = logging.getLogger(__name__)


def _may_see(request: Request) -> None:
    if not permissions.sees_shop_orders(request.user):
        raise NotFound(_("no such page"))


def shop_order_query(request: Request) -> sq.ShopOrderQuery:
    """The list's filters from the query string (the page, its JSON, its Excel file)."""
    _may_see(request)
    params = parse_query(request, ShopOrderListQuery)
    page = Page.from_request(request)
    if params.start and params.end and params.end < params.start:
        raise ValidationError({"to": _("the period ends before it starts")})
    if params.min_total is not None and params.max_total is not None and params.max_total < params.min_total:
        raise ValidationError({"max_total": _("the highest sum is below the lowest")})
    return sq.ShopOrderQuery(
        source_ids=params.source, statuses=params.status, start=params.start, end=params.end,
        counterparty_id=params.counterparty, min_total=params.min_total, max_total=params.max_total,
        open_only=params.open, tag_ids=params.tag, without_tag_ids=params.notag, page=page.number, size=page.size,
        timezone=request.app.state.settings.timezone)


def _json_row(r) -> dict:
    return {"id": r["id"], "number": r["number"], "external_id": r["external_id"], "source": r["source_name"],
            "status": r["status"], "open": r["is_open"], "total": str(r["total"]) if r["total"] is not None else None,
            "currency": r["currency"], "paid": r["paid"], "counterparty_id": r["counterparty_id"],
            "counterparty": r["counterparty_name"], "phone": r["phone"], "email": r["email"], "problem": r["problem"],
            "ordered_at": r["ordered_at"].isoformat() if r["ordered_at"] else None}


async def shop_orders_list(request: Request):
    """GET /shop-orders (JSON: {"items": [...], "total": n})."""
    query = shop_order_query(request)
    async with connection(request) as conn:
        total = await sq.count(conn, query, request.user)
        rows = await sq.page(conn, query, request.user)
        choices = {} if wants_json(request) else {**await sq.choices(conn),
                                                   **await filter_names(conn, query.counterparty_id)}
    page = Page(number=query.page, size=query.size, total=total)
    if wants_json(request):
        return page_json(page, total >= sq.COUNT_CAP, "items", [_json_row(r) for r in rows])
    return await render(request, "shop_orders.html", {
        "orders": rows, "page": page, "query": query, **choices,
        "with_tags": query.tag_ids, "without_tags": query.without_tag_ids})


async def shop_order_page(request: Request, *, error: DomainError | None = None, status_code: int = 200):
    """GET /shop-orders/{id}: the order, its lines, its status history and its calls."""
    _may_see(request)
    async with connection(request) as conn:
        order = await sq.get(conn, request.user, request.path_params["id"])
        lines = await sq.lines(conn, order["id"])
        history = await sq.history(conn, order["id"])
        calls = await sq.calls(conn, order["id"], await visible(request))  # the call rules hold here too
    if wants_json(request):
        return JSONResponse({**_json_row(order), "lines": [
            {"name": r["name"], "sku": r["sku"], "quantity": str(r["quantity"]) if r["quantity"] is not None else None,
             "price": str(r["price"]) if r["price"] is not None else None,
             "total": str(r["total"]) if r["total"] is not None else None} for r in lines],
            "history": [{"status": h["status"], "paid": h["paid"], "cancelled": h["cancelled"],
                         "at": h["at"].isoformat()} for h in history],
            "calls": [c["id"] for c in calls]})
    return await render(request, "shop_order.html", {
        "order": order, "lines": lines, "history": history, "calls": calls, "error": error,
        "may_call": permissions.may_call(request.user, order), "notice": request.query_params.get("notice", "")[:20]},
        status_code=status_code)


async def shop_order_view(request: Request):
    return await shop_order_page(request)


async def call(request: Request):
    """POST /shop-orders/{id}/call: ring the user's phone, then the order's number; the call links to it."""
    _may_see(request)
    try:
        async with connection(request) as conn:
            order = await sq.get(conn, request.user, request.path_params["id"])
            if not permissions.may_call(request.user, order):
                raise ValidationError({"number": _("the order has no phone number that can be dialled")})
            request_id = await c2c_q.request_call(conn, user=request.user, number=order["phone_normalized"],
                                                  requested_by=request.user["id"],
                                                  region=request.app.state.settings.default_region,
                                                  shop_order_id=order["id"])
            await audit.record(conn, request.user["id"], "shop_order", order["id"], "call buyer",
                               {"phone": [None, order["phone_normalized"]]})
    except (ValidationError, Forbidden) as e:
        if isinstance(e, Forbidden) or wants_json(request):
            raise
        return await shop_order_page(request, error=e, status_code=e.status)
    log.info("user %s: shop order %s called (request %d)", request.user["id"], order["id"], request_id)
    if wants_json(request):
        return JSONResponse({"id": request_id, "status": "pending"}, status_code=202)
    return RedirectResponse(path_for(request, "shop_orders.order", id=order["id"]) + "?notice=calling",
                            status_code=303)


routes = [
    Route("/shop-orders", shop_orders_list, name="shop_orders.list", methods=["GET"]),
    Route("/shop-orders/{id:int}", shop_order_view, name="shop_orders.order", methods=["GET"]),
    Route("/shop-orders/{id:int}/call", call, name="shop_orders.call", methods=["POST"]),
]
