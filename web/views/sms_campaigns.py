"""SMS campaign pages (issue 21, I2): the list, the new and draft form (recipients from a tag filter, a
saved Clients filter or an Excel file; the text with a live preview; the schedule, window and length
limit), the campaign's page with its live progress, its moves (submit, approve, return, pause, resume,
cancel) and its per-message results, and the Excel report. Operators and managers see their own
campaigns, supervisors and admins all (crm/sms/campaigns/model.sees); every move is audited."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import audit, filters, tags
from crm.errors import DomainError, NotFound, ValidationError
from crm.export.xlsx import BATCH, Column, write_xlsx
from crm.i18n import N_
from crm.i18n import gettext as _
from crm.labels import label
from crm.sms import gateway_admin
from crm.sms import model as sms_model
from crm.sms.campaigns import model, recipients
from crm.sms.campaigns import queries as cq
from web.db import connection
from web.locale import request_locale
from web.paging import Page
from web.schemas_sms_campaigns import CampaignForm, PreviewQuery
from web.templating import render
from web.uploads import read_sheet
from web.urls import path_for
from web.validation import parse
from web.validation import query as parse_query
from web.views.export import _may_export, _removed_on_failure, _response, _translated, _zone

SAMPLE = model.Values(name="Sokolov Ivan", first_name="Ivan", manager="Irina Petrova")


def _starts_at(request: Request, form: CampaignForm) -> dt.datetime | None:
    if form.start_date is None:
        return None
    zone = zoneinfo.ZoneInfo(request_locale(request.scope).zone)
    return dt.datetime.combine(form.start_date, form.start_time or dt.time(9, 0), zone)


def _input(request: Request, form: CampaignForm) -> cq.CampaignInput:
    return cq.CampaignInput(name=form.name, body=form.body, own_number=form.own_number,
                            starts_at=_starts_at(request, form), window_from=form.window_from,
                            window_to=form.window_to, max_parts=form.max_parts)


async def _choices(conn, user) -> dict:
    return {"all_tags": await tags.list_tags(conn), "saved": await filters.mine(conn, user["id"], "clients"),
            "numbers": await gateway_admin.numbers(conn), "placeholders": model.PLACEHOLDERS,
            "placeholder_names": model.PLACEHOLDER_NAMES}


async def campaigns_list(request: Request):
    page = Page.from_request(request)
    async with connection(request) as conn:
        page = page.with_total(await cq.count_visible(conn, request.user))
        rows = await cq.visible(conn, request.user, page.size, page.offset)
    return await render(request, "sms_campaigns.html", {"campaigns": rows, "page": page,
                                                        "status_names": model.STATUS_NAMES})


async def _form_page(request: Request, values: dict, error: DomainError | None = None, campaign=None):
    async with connection(request) as conn:
        choices = await _choices(conn, request.user)
    return await render(request, "sms_campaign_form.html", {
        "values": values, "error": error, "campaign": campaign,
        "field_errors": error.errors if isinstance(error, ValidationError) else {}, **choices},
        status_code=error.status if error else 200)


async def new_page(request: Request):
    return await _form_page(request, {"window_from": 9, "window_to": 21, "max_parts": 2, "source": "tags"})


async def _list_recipients(request: Request, conn, campaign_id: int, form: CampaignForm, upload) -> None:
    """Replace the draft's recipients from the chosen source (none chosen: keep them), then check them."""
    settings = request.app.state.settings
    if form.source == "tags":
        await recipients.clear(conn, campaign_id)
        await recipients.from_filter(conn, campaign_id, recipients.TagFilter(form.tag, form.notag),
                                     settings.default_region)
        source = _("clients with the chosen tags")
    elif form.source == "saved":
        if form.saved_filter is None:
            raise ValidationError({"saved_filter": _("choose a saved filter")})
        name, condition = await recipients.saved_filter(conn, request.user["id"], form.saved_filter)
        await recipients.clear(conn, campaign_id)
        await recipients.from_filter(conn, campaign_id, condition, settings.default_region)
        source = _("saved filter %(name)s") % {"name": name}
    elif form.source == "file":
        header, rows = await read_sheet(upload, prefix="pbxcrm-campaign-")
        await recipients.clear(conn, campaign_id)
        await recipients.from_rows(conn, campaign_id, header, rows, settings.default_region)
        source = _("file %(name)s") % {"name": upload.filename.replace("\x00", "")[:200]}
    else:
        await conn.execute("UPDATE sms_campaign_recipients SET status = 'new', skip_reason = '' "
                           "WHERE campaign_id = $1", campaign_id)
        source = None
    if source is not None:
        await conn.execute("UPDATE sms_campaigns SET source = $2 WHERE id = $1", campaign_id, source)
    await recipients.prepare(conn, campaign_id, settings.timezone)


async def save(request: Request):
    """POST /sms/campaigns (new) or /sms/campaigns/{id} (a draft changed); a multipart form."""
    campaign_id = request.path_params.get("id")
    async with request.form() as raw:
        try:
            form = parse(CampaignForm, raw)
            async with connection(request) as conn:
                async with conn.transaction():
                    if campaign_id is None:
                        campaign_id = await cq.create(conn, request.user, _input(request, form))
                    else:
                        await cq.update(conn, request.user, campaign_id, _input(request, form))
                    await _list_recipients(request, conn, campaign_id, form, raw.get("file"))
        except DomainError as e:
            values: dict = {k: raw.get(k, "") for k in CampaignForm.model_fields}
            for key in ("tag", "notag"):
                values[key] = [int(v) for v in raw.getlist(key) if isinstance(v, str) and v.isdigit()]
            return await _form_page(request, values, e, campaign={"id": campaign_id} if campaign_id else None)
    return RedirectResponse(path_for(request, "sms_campaigns.campaign_page", id=campaign_id), status_code=303)


async def campaign_page(request: Request):
    page = Page.from_request(request)
    campaign_id = request.path_params["id"]
    async with connection(request) as conn:
        campaign = await cq.get(conn, request.user, campaign_id)
        totals = await cq.totals(conn, campaign_id)
        rows = await cq.results(conn, campaign_id, page.size, page.offset)
        choices = await _choices(conn, request.user) if model.may_edit(request.user, campaign) else {}
    zone = zoneinfo.ZoneInfo(request_locale(request.scope).zone)
    starts = campaign["starts_at"].astimezone(zone) if campaign["starts_at"] else None
    values = {**dict(campaign), "start_date": starts.date() if starts else "",
              "start_time": starts.strftime("%H:%M") if starts else "", "source": ""}
    return await render(request, "sms_campaign.html", {
        "campaign": campaign, "totals": totals, "rows": rows, "page": page.with_total(totals["recipients"]),
        "actions": model.available(request.user, campaign), "editable": model.may_edit(request.user, campaign),
        "status_names": model.STATUS_NAMES, "skip_reasons": model.SKIP_REASONS, "values": values,
        "field_errors": {}, **choices})


async def act(request: Request):
    """POST /sms/campaigns/{id}/{action}: one of model.ACTIONS (CSRF-checked form)."""
    action = request.path_params["action"]
    if action not in model.ACTIONS:
        raise NotFound(_("no such action"))
    async with connection(request) as conn:
        await cq.act(conn, request.user, request.path_params["id"], action)
    return RedirectResponse(path_for(request, "sms_campaigns.campaign_page", id=request.path_params["id"]),
                            status_code=303)


async def progress(request: Request):
    """GET /api/sms/campaigns/{id}: the status and the counts, polled by sms_campaign.js."""
    async with connection(request) as conn:
        campaign = await cq.get(conn, request.user, request.path_params["id"])
        totals = await cq.totals(conn, campaign["id"])
    return JSONResponse({"id": campaign["id"], "status": campaign["status"],
                         "status_text": _(model.STATUS_NAMES[campaign["status"]]), "totals": totals})


async def preview(request: Request):
    """GET /api/sms/campaigns/preview?body=...: the text with sample values, its parts, or its error."""
    body = parse_query(request, PreviewQuery).body
    try:
        model.check_text(body)
    except model.CampaignError as e:
        return JSONResponse({"error": str(e)})
    text = model.render(body, SAMPLE)
    split = sms_model.split(text)
    return JSONResponse({"text": text, "parts": split.parts, "encoding": split.encoding, "units": split.units})


REPORT_COLUMNS = [
    Column(N_("Phone"), "phone", width=16), Column(N_("Name"), "name", width=30), Column(N_("Text"), "body", width=50),
    Column(N_("Result"), "result", width=20), Column(N_("Error"), "error", width=30),
    Column(N_("Queued"), "queued_at", "datetime", 17), Column(N_("Result time"), "status_at", "datetime", 17),
]


def result_text(row) -> str:
    if row["status"] == "skipped":
        return _(model.SKIP_REASONS[row["skip_reason"]])
    if row["message_status"]:
        return label("sms_status", row["message_status"])
    return _("waiting")


async def report(request: Request):
    """GET /sms/campaigns/{id}.xlsx: every recipient's result (export roles and the campaign's rights)."""
    await _may_export(request)
    async with request.app.state.pool.acquire() as conn:
        campaign = await cq.get(conn, request.user, request.path_params["id"])

        async def batches():
            async for rows in cq.result_batches(conn, campaign["id"], BATCH):
                yield [{**r, "result": result_text(r), "error": r["error"] or ""} for r in rows]
        path, rows = await write_xlsx(_("SMS campaign"), _translated(REPORT_COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "sms_campaign", campaign["id"], "sms campaign report",
                               {"rows": rows})
    return _response(path, rows, f"sms-campaign-{campaign['id']}")


routes = [
    Route("/sms/campaigns", campaigns_list, name="sms_campaigns.campaigns_list", methods=["GET"]),
    Route("/sms/campaigns", save, name="sms_campaigns.create", methods=["POST"]),
    Route("/sms/campaigns/new", new_page, name="sms_campaigns.new_page", methods=["GET"]),
    Route("/sms/campaigns/{id:int}", campaign_page, name="sms_campaigns.campaign_page", methods=["GET"]),
    Route("/sms/campaigns/{id:int}", save, name="sms_campaigns.update", methods=["POST"]),
    Route("/sms/campaigns/{id:int}.xlsx", report, name="sms_campaigns.report", methods=["GET"]),
    Route("/sms/campaigns/{id:int}/{action:str}", act, name="sms_campaigns.act", methods=["POST"]),
    Route("/api/sms/campaigns/preview", preview, name="sms_campaigns.preview", methods=["GET"]),
    Route("/api/sms/campaigns/{id:int}", progress, name="sms_campaigns.progress", methods=["GET"]),
]
