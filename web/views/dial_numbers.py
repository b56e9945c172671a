"""A dial campaign's numbers page (issue 22): the list with status, attempts, last outcome, next try and
skip reason, filtered by status; and, for those who run campaigns, the form that loads more numbers
from a tag filter, a saved Clients filter, an Excel file or the campaign's order."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import audit, filters, tags
from crm.contact_lists import TagFilter, saved_filter
from crm.errors import DomainError, Forbidden, ValidationError
from crm.i18n import gettext as _
from crm.outbound import campaigns, model, numbers, permissions
from web.db import connection
from web.paging import Page
from web.schemas_dial_numbers import LoadForm, NumbersQuery
from web.templating import render
from web.uploads import read_sheet
from web.urls import path_for
from web.validation import parse
from web.validation import query as parse_query

LOADABLE = (model.DRAFT, model.RUNNING, model.PAUSED)


async def campaign_for(conn, user, campaign_id: int):
    """The campaign and its agents' ids, if the user sees it (NotFound otherwise)."""
    row = await campaigns.get(conn, user, campaign_id)
    return row, set(await campaigns.agent_ids(conn, row))


async def numbers_page(request: Request, error: DomainError | None = None, values: dict | None = None):
    page = Page.from_request(request)
    params = parse_query(request, NumbersQuery)
    status = params.status if params.status in numbers.NUMBER_STATUSES else None
    user = request.user
    async with connection(request) as conn:
        campaign, _agents = await campaign_for(conn, user, request.path_params["id"])
        totals = await numbers.totals(conn, campaign["id"])
        rows = await numbers.listing(conn, campaign["id"], status, page.size, page.offset)
        manages = permissions.manages_campaigns(user) and campaign["status"] in LOADABLE
        choices = {"all_tags": await tags.list_tags(conn), "saved": await filters.mine(conn, user["id"], "clients")} \
            if manages else {}
    return await render(request, "dial_campaign_numbers.html", {
        "campaign": campaign, "totals": totals, "rows": rows, "status": status or "",
        "page": page.with_total(totals[status] if status else totals["all"]), "loadable": manages,
        "loaded": params.loaded, "error": error, "values": values or {"source": "tags"},
        "field_errors": error.errors if isinstance(error, ValidationError) else {},
        "statuses": numbers.NUMBER_STATUSES, "skip_reasons": model.SKIP_REASONS,
        "outcome_names": model.OUTCOME_NAMES, **choices}, status_code=error.status if error else 200)


async def _candidates(request: Request, conn, campaign, form: LoadForm, upload) -> tuple[list, str]:
    region = request.app.state.settings.default_region
    if form.source == "tags":
        found = await numbers.from_filter(conn, TagFilter(form.tag, form.notag), region)
        return found, _("clients with the chosen tags")
    if form.source == "saved":
        if form.saved_filter is None:
            raise ValidationError({"saved_filter": _("choose a saved filter")})
        name, condition = await saved_filter(conn, request.user["id"], form.saved_filter)
        return await numbers.from_filter(conn, condition, region), _("saved filter %(name)s") % {"name": name}
    if form.source == "file":
        header, rows = await read_sheet(upload, prefix="pbxcrm-dial-")
        return numbers.from_rows(header, rows), _("file %(name)s") % {"name": upload.filename.replace("\x00", "")[:200]}
    if form.source == "order":
        return await numbers.from_order(conn, campaign["order_id"]), _("the campaign's order")
    raise ValidationError({"source": _("choose where the numbers come from")})


async def load(request: Request):
    """POST /dial-campaigns/{id}/numbers (multipart): add numbers from the chosen source."""
    user = request.user
    async with request.form() as raw:
        try:
            form = parse(LoadForm, raw)
            async with connection(request) as conn:
                campaign, _agents = await campaign_for(conn, user, request.path_params["id"])
                if not permissions.manages_campaigns(user):
                    raise Forbidden(_("only supervisors and admins load a campaign's numbers"))
                if campaign["status"] not in LOADABLE:
                    raise ValidationError({"source": _("a finished campaign takes no more numbers")})
                candidates, source = await _candidates(request, conn, campaign, form, raw.get("file"))
                settings = request.app.state.settings
                loaded = await numbers.load(conn, campaign["id"], candidates, settings.default_region,
                                            settings.timezone)
                await audit.record(conn, user["id"], "dial_campaign", campaign["id"], "load numbers",
                                   {"source": source, "loaded": loaded.loaded, "skipped": loaded.skipped})
        except ValidationError as error:
            values = {"source": raw.get("source", ""), "saved_filter": raw.get("saved_filter", ""),
                      "tag": [int(v) for v in raw.getlist("tag") if isinstance(v, str) and v.isdigit()],
                      "notag": [int(v) for v in raw.getlist("notag") if isinstance(v, str) and v.isdigit()]}
            return await numbers_page(request, error, values)
    url = path_for(request, "dial_numbers.numbers_page", id=campaign["id"])
    return RedirectResponse(f"{url}?{urlencode({'loaded': loaded.summary()})}", status_code=303)


async def numbers_api(request: Request):
    """GET /api/dial-campaigns/{id}/numbers: the counts per status (who sees the campaign)."""
    async with connection(request) as conn:
        campaign, _agents = await campaign_for(conn, request.user, request.path_params["id"])
        totals = await numbers.totals(conn, campaign["id"])
    return JSONResponse({"id": campaign["id"], "totals": totals})


routes = [
    Route("/dial-campaigns/{id:int}/numbers", numbers_page, name="dial_numbers.numbers_page", methods=["GET"]),
    Route("/dial-campaigns/{id:int}/numbers", load, name="dial_numbers.load", methods=["POST"]),
    Route("/api/dial-campaigns/{id:int}/numbers", numbers_api, name="dial_numbers.numbers_api", methods=["GET"]),
]
