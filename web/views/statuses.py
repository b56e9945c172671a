"""The admin's counterparty statuses (issue 20): add, rename, reorder, archive, delete an unused one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.counterparties import statuses
from crm.errors import DomainError
from web.db import connection
from web.permissions import require_role
from web.schemas import PauseReasonMoveForm, StatusArchiveForm, StatusForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body


async def _page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        rows = await statuses.list_statuses(conn, with_uses=True)
    return await render(request, "admin_statuses.html", {"statuses": rows, "default": statuses.DEFAULT,
                                                         "error": error}, status_code=error.status if error else 200)


def _back(request: Request) -> RedirectResponse:
    return RedirectResponse(path_for(request, "statuses.statuses_page"), status_code=303)


@require_role("admin")
async def statuses_page(request: Request):
    return await _page(request)


@require_role("admin")
async def status_save(request: Request):
    status_id = request.path_params.get("id")
    try:
        form, _form = await form_body(request, StatusForm)
        async with connection(request) as conn:
            if status_id is None:
                await statuses.add(conn, request.user["id"], form.name)
            else:
                await statuses.rename(conn, request.user["id"], status_id, form.name)
    except DomainError as e:
        return await _page(request, e)
    return _back(request)


@require_role("admin")
async def status_archive(request: Request):
    try:
        form, _form = await form_body(request, StatusArchiveForm)
        async with connection(request) as conn:
            await statuses.archive(conn, request.user["id"], request.path_params["id"], form.archived == "1")
    except DomainError as e:
        return await _page(request, e)
    return _back(request)


@require_role("admin")
async def status_delete(request: Request):
    try:
        async with connection(request) as conn:
            await statuses.delete(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _page(request, e)
    return _back(request)


@require_role("admin")
async def status_move(request: Request):
    try:
        form, _form = await form_body(request, PauseReasonMoveForm)
        async with connection(request) as conn:
            await statuses.move(conn, request.user["id"], request.path_params["id"], form.steps)
    except DomainError as e:
        return await _page(request, e)
    return _back(request)


routes = [
    Route("/admin/statuses", statuses_page, name="statuses.statuses_page", methods=["GET"]),
    Route("/admin/statuses", status_save, name="statuses.status_add", methods=["POST"]),
    Route("/admin/statuses/{id:int}", status_save, name="statuses.status_save", methods=["POST"]),
    Route("/admin/statuses/{id:int}/archive", status_archive, name="statuses.status_archive", methods=["POST"]),
    Route("/admin/statuses/{id:int}/delete", status_delete, name="statuses.status_delete", methods=["POST"]),
    Route("/admin/statuses/{id:int}/move", status_move, name="statuses.status_move", methods=["POST"]),
]
