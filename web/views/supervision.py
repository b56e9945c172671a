"""Listen-in, whisper and barge from the web (issue 18): the call page's control (_supervise.html,
which the wallboard includes too) and its JSON twin. Supervisors and admins, on calls the call
rules let them listen to, live and with an operator talking (crm/supervision/decide.py); the
Stasis app rings their phone (LISTEN pbxcrm_supervision) and the request's status follows it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.errors import NotFound
from crm.i18n import gettext as _
from crm.recordings.policy import can_listen
from crm.roles import acts_for_others
from crm.supervision import queries as supervision_q
from crm.supervision.requests import ask
from web.call_rules import rules_of
from web.db import connection
from web.schemas import SuperviseIn
from web.validation import json_body
from web.views.call_page import _call
from web.views.call_page import _change as change_call


async def supervise_form(request: Request):
    """POST /calls/{id}/supervise (mode=listen|whisper|barge): then the call's page, or why not."""
    rules = await rules_of(request)
    return await change_call(request, SuperviseIn, lambda conn, call, form: ask(
        conn, request.user, call["id"], form.mode, may_listen=can_listen(request.user, call, rules)))


async def supervise(request: Request):
    """POST /api/calls/{id}/supervise {"mode": "listen" | "whisper" | "barge"}: 202 and the request's id."""
    rules = await rules_of(request)
    body = await json_body(request, SuperviseIn)
    async with connection(request) as conn:
        call = await _call(conn, request)
        request_id = await ask(conn, request.user, call["id"], body.mode,
                               may_listen=can_listen(request.user, call, rules))
    return JSONResponse({"id": request_id, "status": "pending"}, status_code=202)


async def status(request: Request):
    """GET /api/supervision/{id}: how the request goes (its supervisor, and admins and supervisors)."""
    async with connection(request) as conn:
        row = await supervision_q.get(conn, request.path_params["id"])
    me = request.user
    if row is None or (row["supervisor_id"] != me["id"] and not acts_for_others(me)):
        raise NotFound(_("no such supervision request"))
    return JSONResponse({"id": row["id"], "call_id": row["call_id"], "mode": row["mode"], "status": row["status"],
                         "error": row["error"]})


routes = [
    Route("/calls/{id:int}/supervise", supervise_form, name="supervision.form", methods=["POST"]),
    Route("/api/calls/{id:int}/supervise", supervise, name="supervision.supervise", methods=["POST"]),
    Route("/api/supervision/{id:int}", status, name="supervision.status", methods=["GET"]),
]
