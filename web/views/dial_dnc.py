"""The do-not-call page (issue 22): the global list and the campaigns' entries, searched by number; add
one, add an Excel file's, remove one. Supervisors and admins only (crm/outbound/permissions); the
"Do not call" button on a card's phone posts here too and goes back to the card."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, Forbidden, ValidationError
from crm.i18n import gettext as _
from crm.i18n import ngettext
from crm.outbound import dnc, permissions
from web.db import connection
from web.paging import Page
from web.schemas_dial_numbers import DncForm, DncQuery
from web.templating import render
from web.uploads import read_sheet
from web.urls import path_for
from web.validation import parse
from web.validation import query as parse_query


def _may(request: Request) -> None:
    if not permissions.manages_campaigns(request.user):
        raise Forbidden(_("only supervisors and admins keep the do-not-call list"))


async def _campaign(conn, campaign_id: int | None) -> int | None:
    if campaign_id is not None and not await conn.fetchval("SELECT 1 FROM dial_campaigns WHERE id = $1",
                                                           campaign_id):
        raise ValidationError({"campaign": _("no such campaign")})
    return campaign_id


async def dnc_page(request: Request, error: DomainError | None = None, values: dict | None = None):
    _may(request)
    page = Page.from_request(request)
    params = parse_query(request, DncQuery)
    scope = params.scope if params.scope in dnc.SCOPES else "all"
    async with connection(request) as conn:
        total = await dnc.count(conn, params.q, scope, params.campaign)
        rows = await dnc.search(conn, params.q, scope, params.campaign, page.size, page.offset)
        campaigns = await conn.fetch("SELECT id, name FROM dial_campaigns WHERE status IN ('draft', 'running', "
                                     "'paused') ORDER BY id DESC LIMIT 500")
    return await render(request, "dial_dnc.html", {
        "rows": rows, "page": page.with_total(total), "q": params.q, "scope": scope, "campaign": params.campaign,
        "campaigns": campaigns, "done": params.done, "error": error, "values": values or {},
        "field_errors": error.errors if isinstance(error, ValidationError) else {}},
        status_code=error.status if error else 200)


def _safe_back(back: str) -> str | None:
    """Only a card of ours to go back to (never another site)."""
    if back.startswith("/counterparties/") and "//" not in back and "\\" not in back:
        return back
    return None


async def add(request: Request):
    """POST /dial-campaigns/dnc: one number (global, or a campaign's)."""
    _may(request)
    async with request.form() as raw:
        form = parse(DncForm, raw)
    try:
        async with connection(request) as conn:
            campaign_id = await _campaign(conn, form.campaign)
            added = await dnc.add(conn, request.user, form.number, request.app.state.settings.default_region,
                                  campaign_id=campaign_id, reason=form.reason)
    except ValidationError as e:
        return await dnc_page(request, e, form.model_dump())
    done = _("%(number)s added to the do-not-call list") % {"number": form.number} if added else \
        _("%(number)s is already on the do-not-call list") % {"number": form.number}
    back = _safe_back(form.back)
    if back:
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"{path_for(request, 'dial_dnc.dnc_page')}?{urlencode({'done': done})}", status_code=303)


async def import_file(request: Request):
    """POST /dial-campaigns/dnc/import (multipart): an Excel file's numbers."""
    _may(request)
    async with request.form() as raw:
        try:
            form = parse(DncForm, raw)
            header, rows = await read_sheet(raw.get("file"), prefix="pbxcrm-dnc-")
            async with connection(request) as conn:
                campaign_id = await _campaign(conn, form.campaign)
                result = await dnc.import_rows(conn, request.user, header, rows,
                                               request.app.state.settings.default_region, campaign_id=campaign_id)
        except ValidationError as e:
            return await dnc_page(request, e)
    done = (ngettext("%(n)d number added", "%(n)d numbers added", result.added) % {"n": result.added} + "; "
            + _("already listed: %(n)d; invalid: %(bad)d") % {"n": result.already, "bad": result.invalid})
    return RedirectResponse(f"{path_for(request, 'dial_dnc.dnc_page')}?{urlencode({'done': done})}", status_code=303)


async def remove(request: Request):
    """POST /dial-campaigns/dnc/{id}/delete."""
    _may(request)
    async with connection(request) as conn:
        await dnc.remove(conn, request.user, request.path_params["id"])
    return RedirectResponse(path_for(request, "dial_dnc.dnc_page"), status_code=303)


routes = [
    Route("/dial-campaigns/dnc", dnc_page, name="dial_dnc.dnc_page", methods=["GET"]),
    Route("/dial-campaigns/dnc", add, name="dial_dnc.add", methods=["POST"]),
    Route("/dial-campaigns/dnc/import", import_file, name="dial_dnc.import_file", methods=["POST"]),
    Route("/dial-campaigns/dnc/{id:int}/delete", remove, name="dial_dnc.remove", methods=["POST"]),
]
