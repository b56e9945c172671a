"""Order pages (issue 22, H9): the list, the new and edit form (customer, script, the call list from an
uploaded file or a URL reloaded every N minutes), the order's page (its script, its rows with a Call button
and an SMS form each, the last load's outcome, its calls and SMS), and "reload now".

Staff see every order; managers and above change them; a customer's user sees only its customer's
orders, read-only (crm/orders/permissions.py). Lists, pages and counts all go through crm/orders/queries.py,
which keeps to what the user may see."""

from __future__ import annotations

import json
import logging

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.imports.reader import MAX_FILE_BYTES
from crm.orders import actions, loader, permissions
from crm.orders import queries as oq
from crm.orders.sources import SourceError
from web.call_rules import visible
from web.db import connection
from web.paging import Page
from web.resource import wants_json
from web.schemas_orders import OrderForm, OrderSmsForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body, parse

log = logging.getLogger(__name__)


def _may_see_list(request: Request) -> None:
    if not permissions.sees_orders(request.user):
        raise Forbidden(_("your role does not allow this"))


def _may_edit(request: Request) -> None:
    if not permissions.may_edit_orders(request.user):
        raise Forbidden(_("your role does not allow changing orders"))


async def orders_list(request: Request):
    """GET /orders: the orders the user may see (JSON too: {"items": [...], "total": n})."""
    _may_see_list(request)
    page = Page.from_request(request)
    async with connection(request) as conn:
        page = page.with_total(await oq.count_visible(conn, request.user))
        rows = await oq.visible(conn, request.user, page.size, page.offset)
    if wants_json(request):
        return JSONResponse({"total": page.total, "items": [
            {"id": r["id"], "name": r["name"], "customer": r["customer_name"], "status": r["status"],
             "rows": r["rows"], "calls": r["calls"]} for r in rows]})
    return await render(request, "orders.html", {"orders": rows, "page": page,
                                                 "may_edit": permissions.may_edit_orders(request.user)})


async def _form_page(request: Request, values: dict, error: DomainError | None = None, order_id: int | None = None):
    async with connection(request) as conn:
        customers = await oq.customers_to_choose(conn)
    return await render(request, "order_form.html", {
        "values": values, "error": error, "order_id": order_id, "customers": customers,
        "field_errors": error.errors if isinstance(error, ValidationError) else {}},
        status_code=error.status if error else 200)


async def new_page(request: Request):
    _may_edit(request)
    return await _form_page(request, {"status": "open"})


async def edit_page(request: Request):
    _may_edit(request)
    async with connection(request) as conn:
        order = await oq.get(conn, request.user, request.path_params["id"])
    return await _form_page(request, dict(order), order_id=order["id"])


def _input(form: OrderForm) -> oq.OrderInput:
    return oq.OrderInput(name=form.name, customer_id=form.customer_id, script=form.script, status=form.status,
                         source_url=form.source_url, reload_minutes=form.reload_minutes, key_column=form.key_column)


async def _upload(upload) -> bytes | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    body = await upload.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise ValidationError({"file": _("the file is larger than %(mb)d MB") % {"mb": MAX_FILE_BYTES // 2**20}})
    return body


async def save(request: Request):
    """POST /orders (new) or /orders/{id} (changed): a multipart form; a file loads the call list at once
    (a bad file: nothing saved, the form says why); a URL is read by the background reload right away."""
    _may_edit(request)
    order_id = request.path_params.get("id")
    now = request.app.state.settings.clock.now()
    region = request.app.state.settings.default_region
    async with request.form() as raw:
        try:
            form = parse(OrderForm, raw)
            body = await _upload(raw.get("file"))
            async with connection(request) as conn, conn.transaction():
                if order_id is None:
                    order_id = await oq.create(conn, request.user, _input(form), now)
                else:
                    await oq.get(conn, request.user, order_id)
                    await oq.update(conn, request.user, order_id, _input(form), now)
                if body is not None:
                    order = await oq.get(conn, request.user, order_id)
                    try:
                        await loader.load_body(conn, order, body, region)
                    except SourceError as e:
                        raise ValidationError({"file": str(e)}) from None
        except DomainError as e:
            values = {k: raw.get(k, "") for k in OrderForm.model_fields}
            return await _form_page(request, values, e, order_id=request.path_params.get("id"))
    return RedirectResponse(path_for(request, "order", id=order_id), status_code=303)


async def order_page(request: Request, *, error: DomainError | None = None, status_code: int = 200):
    """GET /orders/{id}: the order, its rows (paged), its calls and SMS."""
    page = Page.from_request(request)
    async with connection(request) as conn:
        order = await oq.get(conn, request.user, request.path_params["id"])
        page = page.with_total(await oq.count_rows(conn, order["id"]))
        rows = await oq.rows(conn, order["id"], page.size, page.offset)
        calls = await oq.calls(conn, order["id"], await visible(request))  # the call rules hold here too
        messages = await oq.sms(conn, order["id"], request.user)
    if wants_json(request):
        return JSONResponse({"id": order["id"], "name": order["name"], "customer": order["customer_name"],
                             "status": order["status"], "last_error": order["last_error"], "total_rows": page.total,
                             "rows": [{"id": r["id"], "key": r["row_key"], "phone": r["phone"], "name": r["name"],
                                       "removed": r["removed_at"] is not None} for r in rows]})
    user = request.user
    return await render(request, "order.html", {
        "order": order, "rows": rows, "page": page, "calls": calls, "messages": messages,
        "counts": json.loads(order["last_counts"] or "{}"),
        "row_data": {r["id"]: json.loads(r["data"] or "{}") for r in rows},
        "may_edit": permissions.may_edit_orders(user), "may_call": permissions.may_call_order(user, order),
        "error": error, "notice": request.query_params.get("notice", "")[:20]}, status_code=status_code)


async def order_view(request: Request):
    return await order_page(request)


async def reload_now(request: Request):
    """POST /orders/{id}/reload: read the URL now (a failure shows on the page, the rows stay)."""
    _may_edit(request)
    async with connection(request) as conn:
        order = await oq.get(conn, request.user, request.path_params["id"])
        if not order["source_url"]:
            raise ValidationError({"source_url": _("the order has no URL to read")})
        try:
            await loader.reload(conn, order, request.app.state.settings.default_region)
        except SourceError:
            pass  # recorded on the order, shown on its page
    return RedirectResponse(path_for(request, "order", id=order["id"]), status_code=303)


async def _order_and_row(request: Request, conn):
    order = await oq.get(conn, request.user, request.path_params["id"])
    return order, await oq.row(conn, order["id"], request.path_params["row_id"])


async def call_row(request: Request):
    """POST /orders/{id}/rows/{row_id}/call: click-to-call the row's number; the call links to the order."""
    try:
        async with connection(request) as conn:
            order, row = await _order_and_row(request, conn)
            request_id = await actions.call_row(conn, request.user, order, row,
                                                request.app.state.settings.default_region)
    except (ValidationError, Forbidden) as e:
        if isinstance(e, Forbidden) or wants_json(request):
            raise
        return await order_page(request, error=e, status_code=e.status)
    log.info("user %s: order %s row %s called (request %d)", request.user["id"], request.path_params["id"],
             request.path_params["row_id"], request_id)
    if wants_json(request):
        return JSONResponse({"id": request_id, "status": "pending"}, status_code=202)
    return RedirectResponse(path_for(request, "order", id=order["id"]) + "?notice=calling", status_code=303)


async def text_row(request: Request):
    """POST /orders/{id}/rows/{row_id}/sms body=...: an SMS to the row's number, linked to the order."""
    try:
        form, _raw = await form_body(request, OrderSmsForm)
        async with connection(request) as conn:
            order, row = await _order_and_row(request, conn)
            await actions.text_row(conn, request.user, order, row, form.body, request.app.state.settings.sms_max_parts)
    except DomainError as e:
        if isinstance(e, (Forbidden, NotFound)):
            raise
        return await order_page(request, error=e, status_code=e.status)
    return RedirectResponse(path_for(request, "order", id=order["id"]) + "?notice=sms", status_code=303)


routes = [
    Route("/orders", orders_list, name="orders", methods=["GET"]),
    Route("/orders", save, name="orders.create", methods=["POST"]),
    Route("/orders/new", new_page, name="orders.new_page", methods=["GET"]),
    Route("/orders/{id:int}", order_view, name="order", methods=["GET"]),
    Route("/orders/{id:int}", save, name="orders.update", methods=["POST"]),
    Route("/orders/{id:int}/edit", edit_page, name="orders.edit_page", methods=["GET"]),
    Route("/orders/{id:int}/reload", reload_now, name="orders.reload", methods=["POST"]),
    Route("/orders/{id:int}/rows/{row_id:int}/call", call_row, name="orders.call_row", methods=["POST"]),
    Route("/orders/{id:int}/rows/{row_id:int}/sms", text_row, name="orders.text_row", methods=["POST"]),
]
