"""The admin's counterparty statuses (issue 20): add, rename, reorder, archive, delete an unused one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.counterparties import statuses
from crm.errors import DomainError
from web.admin_list import item_action
from web.db import connection
from web.permissions import require_role
from web.schemas import MoveForm, StatusArchiveForm, StatusForm
from web.templating import render


async def _page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        rows = await statuses.list_statuses(conn, with_uses=True)
    return await render(request, "admin_statuses.html", {"statuses": rows, "default": statuses.DEFAULT,
                                                         "error": error}, status_code=error.status if error else 200)


@require_role("admin")
async def statuses_page(request: Request):
    return await _page(request)


def _save(conn, user_id, status_id, form):
    if status_id is None:
        return statuses.add(conn, user_id, form.name)
    return statuses.rename(conn, user_id, status_id, form.name)


_LIST = "statuses.statuses_page"
status_save = item_action(_page, _LIST, _save, StatusForm)
status_archive = item_action(_page, _LIST, lambda conn, user_id, status_id, form:
                             statuses.archive(conn, user_id, status_id, form.archived == "1"), StatusArchiveForm)
status_delete = item_action(_page, _LIST, lambda conn, user_id, status_id, _form:
                            statuses.delete(conn, user_id, status_id))
status_move = item_action(_page, _LIST, lambda conn, user_id, status_id, form:
                          statuses.move(conn, user_id, status_id, form.steps), MoveForm)


routes = [
    Route("/admin/statuses", statuses_page, name="statuses.statuses_page", methods=["GET"]),
    Route("/admin/statuses", status_save, name="statuses.status_add", methods=["POST"]),
    Route("/admin/statuses/{id:int}", status_save, name="statuses.status_save", methods=["POST"]),
    Route("/admin/statuses/{id:int}/archive", status_archive, name="statuses.status_archive", methods=["POST"]),
    Route("/admin/statuses/{id:int}/delete", status_delete, name="statuses.status_delete", methods=["POST"]),
    Route("/admin/statuses/{id:int}/move", status_move, name="statuses.status_move", methods=["POST"]),
]
