"""The admin's customers of the outsourcing call centre (issue 22, H9): list, new, rename, delete, and the
switch that lets order URLs reach local and private networks. Their users are made on the Users page
(role "customer", with the customer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, ValidationError
from crm.orders import customers
from web.db import connection
from web.permissions import require_role
from web.schemas_orders import CustomerForm, PrivateUrlsForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body


async def _page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        rows = await customers.list_customers(conn)
        private_urls = await customers.private_urls_allowed(conn)
    return await render(request, "admin_customers.html", {
        "customers": rows, "private_urls": private_urls, "error": error,
        "field_errors": error.errors if isinstance(error, ValidationError) else {}},
        status_code=error.status if error else 200)


@require_role("admin")
async def customers_page(request: Request):
    return await _page(request)


@require_role("admin")
async def save_customer(request: Request):
    """POST /admin/customers (new) or /admin/customers/{id} (renamed)."""
    try:
        form, _raw = await form_body(request, CustomerForm)
        async with connection(request) as conn:
            await customers.save(conn, request.user["id"], request.path_params.get("id"), form.name)
    except DomainError as e:
        return await _page(request, e)
    return RedirectResponse(path_for(request, "customers.customers_page"), status_code=303)


@require_role("admin")
async def delete_customer(request: Request):
    try:
        async with connection(request) as conn:
            await customers.delete(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _page(request, e)
    return RedirectResponse(path_for(request, "customers.customers_page"), status_code=303)


@require_role("admin")
async def private_urls(request: Request):
    form, _raw = await form_body(request, PrivateUrlsForm)
    async with connection(request) as conn:
        await customers.set_private_urls(conn, request.user["id"], form.allowed)
    return RedirectResponse(path_for(request, "customers.customers_page"), status_code=303)


routes = [
    Route("/admin/customers", customers_page, name="customers.customers_page", methods=["GET"]),
    Route("/admin/customers", save_customer, name="customers.create", methods=["POST"]),
    Route("/admin/customers/{id:int}", save_customer, name="customers.update", methods=["POST"]),
    Route("/admin/customers/{id:int}/delete", delete_customer, name="customers.delete", methods=["POST"]),
    Route("/admin/customers/private-urls", private_urls, name="customers.private_urls", methods=["POST"]),
]
