"""The admin's IP allow-lists (issue 17): networks per role or per user, HTML or JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.allowlist import queries as allow_q
from crm.allowlist import service
from crm.allowlist.rules import applicable, inside
from crm.errors import DomainError
from crm.users import ROLES
from crm.users import queries as users_q
from web.client_address import client_address
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import reads_json, wants_json
from web.schemas_access import AllowEntryForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body


def _entry_json(row) -> dict:
    return {"id": row["id"], "role": row["role"], "user_id": row["user_id"], "login": row.get("login"),
            "network": str(row["network"]), "note": row["note"]}


async def _page(request: Request, *, error: DomainError | None = None, values: dict | None = None):
    address = client_address(request)
    async with connection(request) as conn:
        entries = await allow_q.list_entries(conn)
        users = await users_q.list_users(conn)
        mine = await allow_q.entries_for(conn, request.user["id"], request.user["role"])
    if wants_json(request):
        if error is not None:
            raise error
        return JSONResponse({"items": [_entry_json(e) for e in entries], "your_address": address})
    networks = applicable(request.user, mine)
    return await render(request, "admin_allowlist.html", {
        "entries": entries, "users": users, "roles": ROLES, "error": error, "values": values or {},
        "address": address, "my_networks": networks, "me_inside": not networks or inside(address, networks),
    }, status_code=error.status if error else 200)


@require_role("admin")
async def allowlist_page(request: Request):
    """The lists, or (JSON) `{"items": [...], "your_address": ...}`."""
    return await _page(request)


@require_role("admin")
async def allowlist_add(request: Request):
    """A network on a role's list (role) or a user's (user_id); refused if it would shut the admin out."""
    address = client_address(request)
    raw: dict = {}
    try:
        if reads_json(request):
            body = await json_body(request, AllowEntryForm)
        else:
            body, form = await form_body(request, AllowEntryForm)
            raw = {k: str(v) for k, v in form.items()}
        async with connection(request) as conn:
            row = await service.add_entry(conn, request.user, address, role=body.role or None,
                                          user_id=body.user_id, network=body.network, note=body.note)
    except DomainError as e:
        if wants_json(request) or reads_json(request):
            raise
        return await _page(request, error=e, values=raw)
    if wants_json(request) or reads_json(request):
        return JSONResponse(jsonable(_entry_json(dict(row))), status_code=201)
    return RedirectResponse(path_for(request, "allowlist.allowlist_page"), status_code=303)


@require_role("admin")
async def allowlist_delete(request: Request):
    try:
        async with connection(request) as conn:
            row = await service.delete_entry(conn, request.user, client_address(request), request.path_params["id"])
    except DomainError as e:
        if wants_json(request):
            raise
        return await _page(request, error=e)
    if wants_json(request):
        return JSONResponse(_entry_json(dict(row)))
    return RedirectResponse(path_for(request, "allowlist.allowlist_page"), status_code=303)


routes = [
    Route("/admin/allowlist", allowlist_page, name="allowlist.allowlist_page", methods=["GET"]),
    Route("/admin/allowlist", allowlist_add, name="allowlist.allowlist_add", methods=["POST"]),
    Route("/admin/allowlist/{id:int}/delete", allowlist_delete, name="allowlist.allowlist_delete",
          methods=["POST"]),
]
