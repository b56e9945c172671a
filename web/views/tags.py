"""Tags: the admin's list, and putting tags on cards and tasks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import call_scripts, tags
from crm.counterparties import permissions as cp_perm
from crm.counterparties import queries as cq
from crm.counterparties import service as cp_service
from crm.errors import Conflict, DomainError, Forbidden, ValidationError
from crm.i18n import _
from crm.queues import queries as queues_q
from crm.tasks import service as task_service
from crm.users import ROLES
from web.client_address import client_address
from web.db import connection
from web.permissions import require_role
from web.schemas import SetTagForm, TagForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body


async def _admin_page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        all_tags = await tags.list_tags(conn, with_uses=True)
        queues = await queues_q.list_queues(conn)
        scripts = await call_scripts.scripts_by_id(conn, "tag")
    return await render(request, "admin_tags.html", {"tags": all_tags, "roles": ROLES, "queues": queues,
                                                     "scripts": scripts,
                                                     "error": error}, status_code=error.status if error else 200)


@require_role("admin")
async def admin_tags(request: Request):
    return await _admin_page(request)


@require_role("admin")
async def admin_save_tag(request: Request):
    try:
        form, _form = await form_body(request, TagForm)
        inp = tags.TagInput(name=form.name, description=form.description, allowed_roles=form.allowed_roles,
                            queue_id=form.queue_id)
        async with connection(request) as conn, conn.transaction():
            saved = await tags.save_tag(conn, request.user["id"], form.id, inp)
            if form.call_script is not None:  # as on the call scripts page; saved with the tag or not at all
                await call_scripts.set_script(conn, request.user["id"], "tag", saved, form.call_script,
                                              address=client_address(request))
    except DomainError as e:
        return await _admin_page(request, e)
    return RedirectResponse(path_for(request, "tags.admin_tags"), status_code=303)


@require_role("admin")
async def admin_delete_tag(request: Request):
    try:
        async with connection(request) as conn:
            await tags.delete_tag(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _admin_page(request, e)
    return RedirectResponse(path_for(request, "tags.admin_tags"), status_code=303)


async def _editable_counterparty(conn, request: Request, counterparty_id: int) -> None:
    row = await cq.get_counterparty(conn, counterparty_id)
    if row is None or row["deleted_at"] is not None:
        raise await cp_service.not_found(conn, counterparty_id)
    if not cp_perm.can_edit(request.user, row):
        raise Forbidden(_("you cannot edit this counterparty"))


async def new_counterparty_tag(request: Request):
    """A user makes a tag from a card (name, description, the roles that may use it) and puts it there."""
    counterparty_id = request.path_params["id"]
    try:
        form, _form = await form_body(request, TagForm)
        inp = tags.TagInput(name=form.name, description=form.description, allowed_roles=form.allowed_roles)
        async with connection(request) as conn:
            await _editable_counterparty(conn, request, counterparty_id)
            await tags.create_and_put(conn, request.user, "counterparty", counterparty_id, inp)
    except (ValidationError, Conflict) as e:
        from web.views.counterparty_cards import card_page  # the card shows the form's error
        return await card_page(request, counterparty_id, error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)


async def tag_counterparty(request: Request):
    counterparty_id = request.path_params["id"]
    form, _form = await form_body(request, SetTagForm)
    async with connection(request) as conn:
        await _editable_counterparty(conn, request, counterparty_id)
        await tags.set_tag(conn, request.user, "counterparty", counterparty_id,
                           form.tag_id or 0, on=form.on != "0")
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id), status_code=303)


async def tag_task(request: Request):
    task_id = request.path_params["id"]
    form, _form = await form_body(request, SetTagForm)
    async with connection(request) as conn:
        task = await task_service.card(conn, request.user, task_id, request.app.state.settings.clock.now())
        if not task["can_edit"]:
            raise Forbidden(_("only the task's people may change it"))
        await tags.set_tag(conn, request.user, "task", task_id, form.tag_id or 0, on=form.on != "0")
    return RedirectResponse(path_for(request, "tasks.task_card", id=task_id), status_code=303)


routes = [
    Route("/admin/tags", admin_tags, name="tags.admin_tags", methods=["GET"]),
    Route("/admin/tags", admin_save_tag, name="tags.admin_save_tag", methods=["POST"]),
    Route("/admin/tags/{id:int}/delete", admin_delete_tag, name="tags.admin_delete_tag", methods=["POST"]),
    Route("/counterparties/{id:int}/tags/new", new_counterparty_tag, name="tags.new_counterparty_tag",
          methods=["POST"]),
    Route("/counterparties/{id:int}/tags", tag_counterparty, name="tags.tag_counterparty", methods=["POST"]),
    Route("/tasks/{id:int}/tags", tag_task, name="tags.tag_task", methods=["POST"]),
]
