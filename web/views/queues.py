"""Admin pages for call queues and the routing policy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import call_scripts
from crm.errors import DomainError, NotFound, ValidationError
from crm.i18n import _
from crm.queues import queries as queues_q
from crm.queues.model import THRESHOLDS, QueueInput
from crm.routing import queries as routing_q
from crm.users import queries as users_q
from web.client_address import client_address
from web.db import connection
from web.permissions import require_role
from web.schemas_telephony import QueueForm, RoutingForm
from web.templating import render
from web.urls import path_for
from web.validation import parse


def _queue_input(raw) -> tuple[QueueInput, str | None]:
    """The queue's settings, and its call script (None: the form had no script field)."""
    form = parse(QueueForm, raw)
    return QueueInput(name=form.name, strategy=form.strategy,
                      ring_seconds=15 if form.ring_seconds is None else form.ring_seconds,
                      max_wait_seconds=120 if form.max_wait_seconds is None else form.max_wait_seconds,
                      moh_class=form.moh_class or "default", member_ids=form.member_ids,
                      offer=form.offer, wrapup_seconds=form.wrapup_seconds or 0,
                      **{k: getattr(form, k) for k in THRESHOLDS if getattr(form, k) is not None}), form.call_script


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None):
    async with connection(request) as conn:
        queues = await queues_q.list_queues(conn)
        users = await users_q.list_users(conn)
        policy = await routing_q.load_policy(conn)
        members = await queues_q.member_ids(conn, editing) if editing else []
        scripts = await call_scripts.scripts_by_id(conn, "queue")
    current = next((q for q in queues if q.id == editing), None)
    if editing and current is None:
        raise NotFound(_("no queue %(id)d") % {"id": editing})
    return await render(request, "admin_queues.html", {
        "queues": queues, "users": users, "current": current, "members": members,
        "policy": policy, "error": error,
        "call_script": scripts.get(editing, "") if editing else ""}, status_code=error.status if error else 200)


@require_role("admin")
async def queues_page(request: Request):
    return await _page(request)


@require_role("admin")
async def queue_edit(request: Request):
    return await _page(request, editing=request.path_params["id"])


@require_role("admin")
async def queue_save(request: Request):
    queue_id = request.path_params.get("id")
    form = await request.form()
    try:
        inp, script = _queue_input(form)
        async with connection(request) as conn, conn.transaction():
            saved = await queues_q.save_queue(conn, request.user["id"], queue_id, inp)
            if script is not None:  # validated and audited as on the call scripts page; saved with the queue or not
                await call_scripts.set_script(conn, request.user["id"], "queue", saved, script,
                                              address=client_address(request))
    except DomainError as e:
        return await _page(request, editing=queue_id, error=e)
    return RedirectResponse(path_for(request, "queues.queues_page"), status_code=303)


@require_role("admin")
async def queue_delete(request: Request):
    try:
        async with connection(request) as conn:
            await queues_q.delete_queue(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _page(request, error=e)
    return RedirectResponse(path_for(request, "queues.queues_page"), status_code=303)


@require_role("admin")
async def routing_save(request: Request):
    form = await request.form()
    try:
        seconds = parse(RoutingForm, form).manager_ring_seconds
        if seconds is None or not 2 <= seconds <= 120:
            raise ValidationError({"manager_ring_seconds": _("a manager rings 2 to 120 seconds")})
        async with connection(request) as conn:
            await routing_q.set_manager_ring_seconds(conn, seconds, request.user["id"])
    except DomainError as e:
        return await _page(request, error=e)
    return RedirectResponse(path_for(request, "queues.queues_page"), status_code=303)


routes = [
    Route("/admin/queues", queues_page, name="queues.queues_page", methods=["GET"]),
    Route("/admin/queues", queue_save, name="queues.queue_save", methods=["POST"]),
    Route("/admin/queues/{id:int}", queue_edit, name="queues.queue_edit", methods=["GET"]),
    Route("/admin/queues/{id:int}", queue_save, name="queues.queue_update", methods=["POST"]),
    Route("/admin/queues/{id:int}/delete", queue_delete, name="queues.queue_delete", methods=["POST"]),
    Route("/admin/routing", routing_save, name="queues.routing_save", methods=["POST"]),
]
