"""Transfers from the web (issue 15): the screen pop's and the call page's Transfer - to a user,
a queue or a number. The Stasis app puts them through (LISTEN pbxcrm_transfers); the
operator's pop says where the call went, the new operator's opens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import NotFound
from crm.i18n import gettext as _
from crm.roles import acts_for_others
from crm.transfers import queries as transfers_q
from crm.transfers.requests import TransferInput, ask
from web.db import connection
from web.limits import CHANNEL
from web.schemas import TransferForm, TransferIn
from web.validation import json_body, path_text
from web.views.call_page import _change as change_call


async def _ask(request: Request, **call) -> JSONResponse:
    body = await json_body(request, TransferIn)
    async with connection(request) as conn:
        request_id = await ask(conn, request.user, TransferInput(body.user_id, body.queue_id, body.number),
                               region=request.app.state.settings.default_region, **call)
    return JSONResponse({"id": request_id, "status": "pending"}, status_code=202)


async def transfer_by_channel(request: Request):
    """POST /api/calls/channel/{channel}/transfer {"user_id" | "queue_id" | "number"}: the pop's Transfer."""
    return await _ask(request, channel_id=path_text(request, "channel", CHANNEL))


async def transfer(request: Request):
    """POST /api/calls/{id}/transfer {"user_id" | "queue_id" | "number"}."""
    return await _ask(request, call_id=request.path_params["id"])


async def transfer_form(request: Request):
    """POST /calls/{id}/transfer (the call page's form): then the page again, or what was wrong."""
    return await change_call(request, TransferForm, lambda conn, call, form: ask(
        conn, request.user, TransferInput.from_choice(form.to, form.number),
        region=request.app.state.settings.default_region, call_id=call["id"]))


async def targets(request: Request):
    """GET /api/transfer-targets: whom a call may go to - active users with a phone, live queues."""
    async with connection(request) as conn:
        users, queues = await transfers_q.targets(conn)
    return JSONResponse({"users": [{"id": u["id"], "name": u["full_name"], "extension": u["extension"]} for u in users],
                         "queues": [{"id": q["id"], "name": q["name"]} for q in queues]})


async def status(request: Request):
    """GET /api/transfers/{id}: how the request went (its requester, supervisors and admins)."""
    async with connection(request) as conn:
        row = await transfers_q.get(conn, request.path_params["id"])
    me = request.user
    if row is None or (row["requested_by"] != me["id"] and not acts_for_others(me)):
        raise NotFound(_("no such transfer request"))
    return JSONResponse({"id": row["id"], "status": row["status"], "error": row["error"]})


routes = [
    Route("/api/calls/channel/{channel}/transfer", transfer_by_channel, name="transfers.by_channel",
          methods=["POST"]),
    Route("/api/calls/{id:int}/transfer", transfer, name="transfers.transfer", methods=["POST"]),
    Route("/calls/{id:int}/transfer", transfer_form, name="transfers.form", methods=["POST"]),
    Route("/api/transfer-targets", targets, name="transfers.targets", methods=["GET"]),
    Route("/api/transfers/{id:int}", status, name="transfers.status", methods=["GET"]),
]
