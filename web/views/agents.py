"""Agent presence in the web UI (issue 18): a queue member logs in and out of its queues, pauses
with a reason, resumes and ends its wrap-up early, from the header of every page (a form) or the
JSON API; the admin keeps the pause reasons and their order. A user changes only its own presence."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.agents import queries as agents_q
from crm.errors import DomainError, NotFound
from crm.i18n import _
from web.admin_list import item_action
from web.db import connection
from web.permissions import require_role
from web.resource import reads_json, wants_json
from web.schemas import MoveForm
from web.schemas_telephony import AgentIn, PauseReasonForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body

# A path of this site as a page's form gives it: nothing that could end a header or leave the site.
_PATH = re.compile(r"/[A-Za-z0-9/_.~%=&?+-]*")


def _back(request: Request, target: str) -> str:
    """The page the header's form was on: only a path on this site, never an open redirect."""
    if _PATH.fullmatch(target) and not target.startswith("//"):
        return target
    return path_for(request, "home")


async def _presence(request: Request) -> dict:
    async with connection(request) as conn:
        presence = await agents_q.presence(conn, request.user["id"])
    if presence is None:
        raise NotFound(_("you are in no queue"))
    return agents_q.presence_json(presence)


async def agent_state(request: Request):
    """GET /api/agent: the user's own presence (404 for a user in no queue)."""
    return JSONResponse(await _presence(request))


async def agent_change(request: Request):
    """POST /agent (the header's form) or /api/agent (JSON): log in, log out, pause, resume."""
    if reads_json(request):
        change = await json_body(request, AgentIn)
    else:
        change, _form = await form_body(request, AgentIn)
    async with connection(request) as conn:
        await agents_q.change(conn, request.user["id"], change.action, source="api" if reads_json(request) else "web",
                              queue_id=change.queue_id, reason_id=change.reason_id)
    if wants_json(request) or reads_json(request):
        return JSONResponse(await _presence(request))
    return RedirectResponse(_back(request, change.next), status_code=303)


# ---- the admin's pause reasons ----

async def _reasons_page(request: Request, error: DomainError | None = None):
    async with connection(request) as conn:
        reasons = await agents_q.list_reasons(conn)
    if wants_json(request) and error is None:
        return JSONResponse({"reasons": reasons})
    return await render(request, "admin_pause_reasons.html", {"reasons": reasons, "error": error},
                        status_code=error.status if error else 200)


@require_role("admin")
async def reasons_page(request: Request):
    return await _reasons_page(request)


_REASONS = "agents.reasons_page"
reason_save = item_action(_reasons_page, _REASONS, lambda conn, user_id, reason_id, form:
                          agents_q.save_reason(conn, user_id, reason_id, form.name), PauseReasonForm)
reason_delete = item_action(_reasons_page, _REASONS, lambda conn, user_id, reason_id, _form:
                            agents_q.delete_reason(conn, user_id, reason_id))
# Up or down in the list: the header's choice and the phone's *74N follow the new order.
reason_move = item_action(_reasons_page, _REASONS, lambda conn, user_id, reason_id, form:
                          agents_q.move_reason(conn, user_id, reason_id, form.steps), MoveForm)


routes = [
    Route("/agent", agent_change, name="agents.agent_change", methods=["POST"]),
    Route("/api/agent", agent_state, name="agents.agent_state", methods=["GET"]),
    Route("/api/agent", agent_change, name="agents.api_agent_change", methods=["POST"]),
    Route("/admin/pause-reasons", reasons_page, name="agents.reasons_page", methods=["GET"]),
    Route("/admin/pause-reasons", reason_save, name="agents.reason_add", methods=["POST"]),
    Route("/admin/pause-reasons/{id:int}", reason_save, name="agents.reason_save", methods=["POST"]),
    Route("/admin/pause-reasons/{id:int}/delete", reason_delete, name="agents.reason_delete", methods=["POST"]),
    Route("/admin/pause-reasons/{id:int}/move", reason_move, name="agents.reason_move", methods=["POST"]),
]
