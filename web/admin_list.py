"""An admin list with an edit form (the call rules, the dial rules): the list page, the page of one
item being edited, and the form's save, all drawn by one page function of the list's own:

    page(request, *, editing=None | item id, error=None | DomainError, typed=None | {field: text})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from crm.errors import DomainError
from web.db import connection
from web.permissions import require_role
from web.urls import path_for
from web.validation import Schema, form_body


class Page(Protocol):
    def __call__(self, request: Request, *, editing: int | None = None, error: DomainError | None = None,
                 typed: dict | None = None) -> Awaitable[Response]: ...


Endpoint = Callable[[Request], Awaitable[Response]]
# save(conn, admin's user id, item id or None (a new one), the form)
Save = Callable[[asyncpg.Connection, int, Any, Any], Awaitable[Any]]


def list_and_edit(page: Page) -> tuple[Endpoint, Endpoint]:
    """The list page and an item's edit page (path parameter `id`), for admins."""

    @require_role("admin")
    async def list_page(request: Request) -> Response:
        return await page(request)

    @require_role("admin")
    async def edit_page(request: Request) -> Response:
        return await page(request, editing=request.path_params["id"])

    return list_page, edit_page


# act(conn, admin's user id, item id or None, the form or None)
Act = Callable[[asyncpg.Connection, int, Any, Any], Awaitable[Any]]


def item_action(page: Callable[..., Awaitable[Response]], route: str, act: Act,
                schema: type[Schema] | None = None) -> Endpoint:
    """An admin's action on a list's item (path parameter `id`, if any; a form of `schema`, if
    given), then back to the list at `route`; refused, the list again saying why (`page(request,
    error=...)`). The pause reasons and the counterparty statuses are made of these."""

    @require_role("admin")
    async def endpoint(request: Request) -> Response:
        try:
            form = (await form_body(request, schema))[0] if schema is not None else None
            async with connection(request) as conn:
                await act(conn, request.user["id"], request.path_params.get("id"), form)
        except DomainError as e:
            return await page(request, error=e)
        return RedirectResponse(path_for(request, route), status_code=303)

    return endpoint


def typed_fields(schema: type[Schema], raw) -> dict:
    """What the admin typed into the form, field by field as text: the page shows it again."""
    return {k: str(raw.get(k, "")) for k in schema.model_fields}


def redirect_to(route: str) -> Callable[[Request], Response]:
    """After a save: back to this route (the list) with a 303."""
    return lambda request: RedirectResponse(path_for(request, route), status_code=303)


async def save_form(request: Request, schema: type[Schema], save: Save, page: Page, *,
                    done: Callable[[Request], Response],
                    typed: Callable[[Any], dict] | None = None) -> Response:
    """The form's item saved (new, or path parameter `id`), then `done(request)` (redirect_to the list);
    refused, the page again with what was typed (`typed(raw form)`) and why."""
    item_id = request.path_params.get("id")
    raw = await request.form()
    try:
        form, _raw = await form_body(request, schema)
        async with connection(request) as conn:
            await save(conn, request.user["id"], item_id, form)
    except DomainError as e:
        return await page(request, editing=item_id, error=e,
                          typed=typed(raw) if typed is not None else typed_fields(schema, raw))
    return done(request)
