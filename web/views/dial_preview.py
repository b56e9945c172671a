"""Preview dialling (issue 22): an agent's page for a running preview campaign: the offered number with
its client's card and the order's script, "Call" (click-to-call linked to the attempt) and "Skip",
then how the call went. Only the campaign's agents (crm/outbound/permissions.works_campaign)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import NotFound, ValidationError
from crm.i18n import gettext as _
from crm.outbound import campaigns, model, permissions, preview
from web.db import connection
from web.locale import request_locale
from web.schemas_dial_numbers import OutcomeForm, PreviewQuery
from web.templating import render
from web.urls import path_for
from web.validation import parse
from web.validation import query as parse_query


async def _works(conn, user, campaign_id: int) -> None:
    campaign = await campaigns.campaign_for(conn, user, campaign_id)
    if (campaign is None or campaign["mode"] != "preview"
            or not permissions.works_campaign(user, await campaigns.agent_ids(conn, campaign))):
        raise NotFound(_("no such campaign"))


def _back(request: Request, campaign_id: int) -> RedirectResponse:
    return RedirectResponse(f"{path_for(request, 'dial_preview.preview_page')}?campaign={campaign_id}",
                            status_code=303)


async def preview_page(request: Request):
    params = parse_query(request, PreviewQuery)
    user = request.user
    if not permissions.sees_campaign_list(user):
        raise NotFound(_("no such page"))
    async with connection(request) as conn:
        campaigns = await preview.my_campaigns(conn, user["id"])
        chosen = next((c for c in campaigns if c["id"] == params.campaign), None) if params.campaign else \
            (campaigns[0] if len(campaigns) == 1 else None)
        current = await preview.current(conn, user["id"], chosen["id"]) if chosen else None
    if current is not None and current["outcome"] == model.CANCELLED_ATTEMPT:
        current = None  # skipped: nothing to show
    row_data = json.loads(current["row_data"]) if current and isinstance(current["row_data"], str) else \
        (current["row_data"] if current else None)
    return await render(request, "dial_preview.html", {
        "campaigns": campaigns, "chosen": chosen, "current": current, "row_data": row_data or {},
        "outcomes": preview.AGENT_OUTCOMES, "outcome_names": model.OUTCOME_NAMES,
        "nothing": "nothing" in request.query_params})


async def take_next(request: Request):
    """POST /dial-campaigns/preview/{id}/next: the next number offered to this agent."""
    campaign_id = request.path_params["id"]
    async with connection(request) as conn:
        await _works(conn, request.user, campaign_id)
        attempt_id = await preview.claim(conn, request.user["id"], campaign_id, request.app.state.settings.timezone)
    response = _back(request, campaign_id)
    if attempt_id is None:
        response.headers["location"] += "&nothing=1"
    return response


async def _attempt_campaign(conn, request: Request) -> int:
    row = await preview.attempt(conn, request.path_params["id"])
    if row is None or row["agent_user_id"] != request.user["id"]:
        raise NotFound(_("no such call"))
    await _works(conn, request.user, row["campaign_id"])
    return row["campaign_id"]


async def call(request: Request):
    """POST /dial-campaigns/preview/attempts/{id}/call: ring the agent, then the number."""
    async with connection(request) as conn:
        campaign_id = await _attempt_campaign(conn, request)
        user = await conn.fetchrow("SELECT id, full_name, extension FROM users WHERE id = $1", request.user["id"])
        await preview.call(conn, user, request.path_params["id"], request.app.state.settings.default_region)
    return _back(request, campaign_id)


async def skip(request: Request):
    async with connection(request) as conn:
        campaign_id = await _attempt_campaign(conn, request)
        await preview.skip(conn, request.user, request.path_params["id"])
    return _back(request, campaign_id)


def _callback_at(request: Request, form: OutcomeForm) -> dt.datetime | None:
    """When the client asked to be called back, on the user's clock; None when not asked."""
    if form.callback_date is None and form.callback_time is None:
        return None
    if form.callback_date is None or form.callback_time is None:
        raise ValidationError({"callback": _("give both the day and the time of the call back")})
    at = dt.datetime.combine(form.callback_date, form.callback_time, ZoneInfo(request_locale(request.scope).zone))
    if at <= dt.datetime.now(dt.timezone.utc):
        raise ValidationError({"callback": _("the call-back time has already passed")})
    return at


async def outcome(request: Request):
    async with request.form() as raw:
        form = parse(OutcomeForm, raw)
    callback_at = _callback_at(request, form)
    async with connection(request) as conn:
        campaign_id = await _attempt_campaign(conn, request)
        await preview.agent_outcome(conn, request.user, request.path_params["id"], form.outcome, form.note,
                                    callback_at=callback_at)
    return _back(request, campaign_id)


routes = [
    Route("/dial-campaigns/preview", preview_page, name="dial_preview.preview_page", methods=["GET"]),
    Route("/dial-campaigns/preview/{id:int}/next", take_next, name="dial_preview.take_next", methods=["POST"]),
    Route("/dial-campaigns/preview/attempts/{id:int}/call", call, name="dial_preview.call", methods=["POST"]),
    Route("/dial-campaigns/preview/attempts/{id:int}/skip", skip, name="dial_preview.skip", methods=["POST"]),
    Route("/dial-campaigns/preview/attempts/{id:int}/outcome", outcome, name="dial_preview.outcome",
          methods=["POST"]),
]
