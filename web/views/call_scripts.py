"""Call scripts (H5): the admin's page for each queue's and tag's script, and the screen pop's lookup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import call_scripts
from crm.counterparties import service as cp_service
from crm.errors import DomainError, NotFound
from crm.i18n import _
from web.client_address import client_address
from web.db import connection
from web.permissions import require_role
from web.schemas import CallScriptForm, PopScriptQuery
from web.templating import render
from web.urls import path_for
from web.validation import form_body
from web.validation import query as parse_query


async def _page(request: Request, error: DomainError | None = None, failed: tuple[str, int] | None = None):
    async with connection(request) as conn:
        scripts = await call_scripts.all_scripts(conn)
    return await render(request, "admin_call_scripts.html", {"scripts": scripts, "error": error, "failed": failed},
                        status_code=error.status if error else 200)


@require_role("admin")
async def scripts_page(request: Request):
    return await _page(request)


@require_role("admin")
async def save_script(request: Request):
    target, target_id = request.path_params["target"], request.path_params["id"]
    if target not in call_scripts.TARGETS:
        raise NotFound(_("no such page"))
    try:
        form, _fields = await form_body(request, CallScriptForm)
        async with connection(request) as conn:
            await call_scripts.set_script(conn, request.user["id"], target, target_id, form.call_script,
                                          address=client_address(request))
    except DomainError as e:
        return await _page(request, e, (target, target_id))
    return RedirectResponse(path_for(request, "call_scripts.scripts_page") + f"#{target}-{target_id}", status_code=303)


async def pop_scripts(request: Request):
    """GET /api/pop-scripts?queue=&counterparty=: what the screen pop shows the operator to say. The
    counterparty's tags count only when the user may see that counterparty."""
    params = parse_query(request, PopScriptQuery)
    async with connection(request) as conn:
        if params.counterparty is not None:
            await cp_service.card(conn, request.user, params.counterparty)  # refuses one the user may not see
        scripts = await call_scripts.scripts_for(conn, params.queue, params.counterparty)
    return JSONResponse({"scripts": scripts})


routes = [
    Route("/admin/call-scripts", scripts_page, name="call_scripts.scripts_page", methods=["GET"]),
    Route("/admin/call-scripts/{target}/{id:int}", save_script, name="call_scripts.save_script", methods=["POST"]),
    Route("/api/pop-scripts", pop_scripts, name="call_scripts.pop_scripts", methods=["GET"]),
]
