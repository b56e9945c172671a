"""Dial campaign pages (issue 22): the list (only the campaigns the user sees), the campaign's page with
its live dashboard, the new and edit form, and the moves (start, pause, resume, cancel: supervisors and
admins only). Each resource answers HTML or JSON (web/resource.py): /api/dial-campaigns/{id} is the
dashboard dial_campaign.js polls. Customers see none of it. Numbers, the do-not-call list and preview
calls have their own pages under /dial-campaigns/{id}/numbers, /dial-campaigns/dnc and
/dial-campaigns/preview."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, Forbidden, ValidationError
from crm.i18n import N_
from crm.i18n import gettext as _
from crm.outbound import campaigns, dashboard, model, permissions
from crm.outbound.campaigns import CampaignInput
from web.db import connection
from web.jsonout import jsonable
from web.paging import Page
from web.resource import html_or_json, wants_json
from web.schemas_dial_campaigns import DialCampaignForm
from web.urls import path_for
from web.validation import form_body, multi_dict
from web.views.auth import zone_choices

PAGE = "dial_campaigns.campaign_page"
AMD_NAMES = {
    "initial_silence": N_("Initial silence, ms"), "greeting": N_("Longest greeting, ms"),
    "after_greeting_silence": N_("Silence after the greeting, ms"), "total_analysis_time": N_("Analysis time, ms"),
    "minimum_word_length": N_("Shortest word, ms"), "between_words_silence": N_("Silence between words, ms"),
    "maximum_number_of_words": N_("Most words"), "silence_threshold": N_("Silence threshold (1-32767)"),
    "maximum_word_length": N_("Longest word, ms")}


def _may_list(user: Mapping) -> None:
    if not permissions.sees_campaign_list(user):
        raise Forbidden(_("dial campaigns are not for customers"))


def _may_manage(user: Mapping) -> None:
    if not permissions.manages_campaigns(user):
        raise Forbidden(_("only a supervisor or an admin runs dial campaigns"))


def _names() -> dict:
    return {"status_names": model.STATUS_NAMES, "mode_names": model.MODE_NAMES, "outcome_names": model.OUTCOME_NAMES,
            "skip_reasons": model.SKIP_REASONS, "actions": model.ACTIONS}


async def campaigns_list(request: Request):
    """The campaigns the user sees, or (JSON) `{"items": [...], "total": n}`."""
    _may_list(request.user)
    page = Page.from_request(request)
    async with connection(request) as conn:
        page = page.with_total(await campaigns.count_visible(conn, request.user))
        rows = await campaigns.visible(conn, request.user, page.size, page.offset)
    return await html_or_json(
        request, "dial_campaigns.html",
        {"campaigns": rows, "page": page, "manages": permissions.manages_campaigns(request.user), **_names()},
        lambda: {"items": [dict(r) for r in rows], "total": page.total})


def _public(campaign: Mapping, agent_ids: list[int]) -> dict:
    out = {k: campaign[k] for k in ("id", "name", "mode", "status", "queue_id", "queue_name", "order_id",
                                    "order_name", "window_from", "window_to", "timezone", "drop_limit", "max_ratio",
                                    "ring_seconds", "amd", "machine_action", "caller_id", "started_at",
                                    "finished_at", "created_at")}
    out["retry_rules"] = {o: {"attempts": r.attempts, "after_minutes": r.after_minutes}
                          for o, r in model.retry_rules(campaigns.stored_json(campaign["retry_rules"])).items()}
    out["amd_settings"] = model.amd_settings(campaigns.stored_json(campaign["amd_settings"]))
    out["agent_ids"] = agent_ids
    return out


async def campaign_page(request: Request):
    """The campaign and its dashboard; JSON: `{"campaign": {...}, "dashboard": {...}}` (status_text too)."""
    async with connection(request) as conn:
        campaign = await campaigns.get(conn, request.user, request.path_params["id"])
        agent_ids = await campaigns.agent_ids(conn, campaign)
        figures = await dashboard.figures(conn, campaign, agent_ids)
        agents = await conn.fetch("SELECT id, full_name FROM users WHERE id = ANY($1::bigint[]) ORDER BY full_name",
                                  agent_ids)
    manages = permissions.manages_campaigns(request.user)
    moves = [a for a in model.ACTIONS if manages and _allowed(a, campaign["status"])]
    return await html_or_json(
        request, "dial_campaign.html",
        lambda: {"campaign": campaign, "figures": figures, "agents": agents, "moves": moves, "manages": manages,
                 "editable": manages and campaign["status"] in campaigns.EDITABLE,
                 "retry": model.retry_rules(campaigns.stored_json(campaign["retry_rules"])),
                 "amd": model.amd_settings(campaigns.stored_json(campaign["amd_settings"])),
                 "amd_parameters": model.AMD_PARAMETERS, "amd_names": AMD_NAMES, **_names()},
        lambda: {"campaign": _public(campaign, agent_ids), "dashboard": figures,
                 "status_text": _(model.STATUS_NAMES[campaign["status"]]), "actions": moves})


def _allowed(action: str, status: str) -> bool:
    try:
        model.next_status(action, status)
    except model.CampaignError:
        return False
    return True


def _defaults() -> dict:
    values: dict = {"mode": model.PROGRESSIVE, "takers": campaigns.AGENTS, "agent_ids": [], "window_from": 9,
                    "window_to": 21, "timezone": "", "drop_limit": "3", "max_ratio": "3", "ring_seconds": 25,
                    "machine_action": "hangup", "amd": False, "caller_id": ""}
    for outcome, (attempts, after) in model.DEFAULT_RETRY.items():
        values[f"retry_{outcome}_attempts"], values[f"retry_{outcome}_after"] = attempts, after
    for name, value in model.AMD_DEFAULTS.items():
        values[f"amd_{name}"] = value
    return values


def _values_of(campaign: Mapping, agent_ids: list[int]) -> dict:
    values = {**_defaults(), **{k: campaign[k] for k in ("name", "mode", "queue_id", "order_id", "window_from",
                                                          "window_to", "timezone", "ring_seconds", "amd",
                                                          "machine_action", "caller_id")}}
    values["takers"] = campaigns.QUEUE if campaign["queue_id"] is not None else campaigns.AGENTS
    values["agent_ids"] = agent_ids if campaign["queue_id"] is None else []
    values["drop_limit"] = str(Decimal(campaign["drop_limit"]).normalize())
    values["max_ratio"] = str(Decimal(campaign["max_ratio"]).normalize())
    for outcome, rule in model.retry_rules(campaigns.stored_json(campaign["retry_rules"])).items():
        values[f"retry_{outcome}_attempts"], values[f"retry_{outcome}_after"] = rule.attempts, rule.after_minutes
    for name, value in model.amd_settings(campaigns.stored_json(campaign["amd_settings"])).items():
        values[f"amd_{name}"] = value
    return values


def _values_of_form(raw: FormData) -> dict:
    """What was typed, to show the form again as it was."""
    values = {k: v for k, v in multi_dict(DialCampaignForm, raw).items() if k in DialCampaignForm.model_fields}
    values["agent_ids"] = [int(v) for v in raw.getlist("agent_ids") if isinstance(v, str) and v.isdigit()]
    values["amd"] = raw.get("amd") in ("on", "1", "true", "yes")
    for key in ("queue_id", "order_id"):
        raw_id = raw.get(key)
        values[key] = int(raw_id) if isinstance(raw_id, str) and raw_id.isdigit() else None
    return values


def input_of(form: DialCampaignForm) -> CampaignInput:
    retry = {}
    for outcome, (attempts, after) in model.DEFAULT_RETRY.items():
        given_attempts = getattr(form, f"retry_{outcome}_attempts")
        given_after = getattr(form, f"retry_{outcome}_after")
        retry[outcome] = (attempts if given_attempts is None else given_attempts,
                          after if given_after is None else given_after)
    amd = {}
    for name, default in model.AMD_DEFAULTS.items():
        given = getattr(form, f"amd_{name}")
        amd[name] = default if given is None else given
    return CampaignInput(
        name=form.name, mode=form.mode, takers=form.takers, agent_ids=form.agent_ids, queue_id=form.queue_id,
        window_from=form.window_from, window_to=form.window_to, timezone=form.timezone, retry=retry,
        drop_limit=form.drop_limit, max_ratio=form.max_ratio, ring_seconds=form.ring_seconds, amd=form.amd,
        amd_settings=amd, machine_action=form.machine_action, caller_id=form.caller_id, order_id=form.order_id)


async def _form_page(request: Request, values: dict, campaign: Mapping | None = None,
                     error: DomainError | None = None):
    async with connection(request) as conn:
        choices = await campaigns.choices(conn)
    return await html_or_json(request, "dial_campaign_form.html", {
        "values": values, "campaign": campaign, "error": error,
        "field_errors": error.errors if isinstance(error, ValidationError) else {},
        "amd_parameters": model.AMD_PARAMETERS, "amd_names": AMD_NAMES, "retried": model.RETRIED,
        "zones": zone_choices(), "amd_open": any(k.startswith("amd_") for k in getattr(error, "errors", {}) or {}),
        **choices, **_names()},
        lambda: {"values": values}, status_code=error.status if error else 200)


async def new_page(request: Request):
    _may_manage(request.user)
    return await _form_page(request, _defaults())


async def edit_page(request: Request):
    async with connection(request) as conn:
        campaign = await campaigns.get(conn, request.user, request.path_params["id"])
        agent_ids = await campaigns.agent_ids(conn, campaign)
    _may_manage(request.user)
    return await _form_page(request, _values_of(campaign, agent_ids), campaign)


async def save(request: Request):
    """POST /dial-campaigns (new) or /dial-campaigns/{id} (changed): a form; its errors shown on it again."""
    campaign_id = request.path_params.get("id")
    campaign = None
    async with connection(request) as conn:
        if campaign_id is not None:
            campaign = await campaigns.get(conn, request.user, campaign_id)
        _may_manage(request.user)
    form_data = None
    try:
        form, form_data = await form_body(request, DialCampaignForm)
        async with connection(request) as conn:
            if campaign_id is None:
                campaign_id = await campaigns.create(conn, request.user, input_of(form))
            else:
                await campaigns.update(conn, request.user, campaign_id, input_of(form))
    except ValidationError as e:
        if wants_json(request):
            raise
        raw = form_data if form_data is not None else await request.form()
        return await _form_page(request, _values_of_form(raw), campaign, e)
    if wants_json(request):
        return JSONResponse({"id": campaign_id}, status_code=201 if campaign is None else 200)
    return RedirectResponse(path_for(request, PAGE, id=campaign_id), status_code=303)


def _mover(action: str):
    async def move(request: Request):
        """POST /dial-campaigns/{id}/<action> (a CSRF-checked form, or JSON through /api/)."""
        async with connection(request) as conn:
            status = await campaigns.act(conn, request.user, request.path_params["id"], action)
        if wants_json(request):
            return JSONResponse(jsonable({"id": request.path_params["id"], "status": status,
                                          "status_text": _(model.STATUS_NAMES[status])}))
        return RedirectResponse(path_for(request, PAGE, id=request.path_params["id"]), status_code=303)
    move.__name__ = f"{action}_campaign"
    return move


routes = [
    Route("/dial-campaigns", campaigns_list, name="dial_campaigns.campaigns_list", methods=["GET"]),
    Route("/api/dial-campaigns", campaigns_list, name="dial_campaigns.api_list", methods=["GET"]),
    Route("/dial-campaigns", save, name="dial_campaigns.create", methods=["POST"]),
    Route("/dial-campaigns/new", new_page, name="dial_campaigns.new_page", methods=["GET"]),
    Route("/dial-campaigns/{id:int}", campaign_page, name=PAGE, methods=["GET"]),
    Route("/dial-campaigns/{id:int}.json", campaign_page, name="dial_campaigns.campaign_json", methods=["GET"]),
    Route("/api/dial-campaigns/{id:int}", campaign_page, name="dial_campaigns.dashboard", methods=["GET"]),
    Route("/dial-campaigns/{id:int}", save, name="dial_campaigns.update", methods=["POST"]),
    Route("/dial-campaigns/{id:int}/edit", edit_page, name="dial_campaigns.edit_page", methods=["GET"]),
    *[Route(f"/dial-campaigns/{{id:int}}/{a}", _mover(a), name=f"dial_campaigns.{a}", methods=["POST"])
      for a in model.ACTIONS],
    *[Route(f"/api/dial-campaigns/{{id:int}}/{a}", _mover(a), name=f"dial_campaigns.api_{a}", methods=["POST"])
      for a in model.ACTIONS],
]
