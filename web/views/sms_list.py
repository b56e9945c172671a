"""The SMS list (issue 21, I1): every message the reader may see, with filters, search, a capped count
and paging (one view for the page and its JSON; the Excel export in web/views/export.py); and attaching
a message from an unknown number to a card (crm/sms/attach.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.counterparties.model import CounterpartyInput
from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.sms import attach, listing
from web.db import connection
from web.list_pages import filter_names, for_reader, page_json
from web.paging import Page
from web.resource import wants_json
from web.schemas_sms_list import SmsAttachIn, SmsAttachNewForm, SmsListQuery
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body
from web.validation import query as parse_query
from web.views.filters import saved_for


def sms_query(request: Request) -> listing.SmsQuery:
    """The SMS list's filters from the query string (the page, its JSON, its export, saved filters)."""
    params = parse_query(request, SmsListQuery)
    page = Page.from_request(request)
    if params.start and params.end and params.end < params.start:
        raise ValidationError({"to": _("the period ends before it starts")})
    settings = request.app.state.settings
    return listing.SmsQuery(
        start=params.start, end=params.end, directions=tuple(d for d in params.direction if d in listing.DIRECTIONS),
        statuses=tuple(s for s in params.status if s in listing.STATUSES), author_ids=params.author,
        own_numbers=tuple(n.strip() for n in params.own if n.strip()), gateway_ids=params.gateway,
        counterparty_id=params.counterparty, number=params.number, tag_ids=params.tag,
        without_tag_ids=params.notag, unattached=params.unattached, q=params.q, page=page.number, size=page.size,
        timezone=settings.timezone, default_region=settings.default_region)


async def sms_list(request: Request):
    """The page at /sms, JSON at /api/sms (web/resource.py): only the messages the reader may see
    (crm/sms/listing.visibility, in the database: before LIMIT and count)."""
    query = sms_query(request)
    me = request.user
    async with connection(request) as conn:
        total, capped = await listing.count_messages(conn, query, me)
        rows = await listing.list_messages(conn, query, me)
        if not wants_json(request):
            choices = for_reader(request.user, {**await listing.choices(conn),
                                                 **await filter_names(conn, query.counterparty_id)})
    page = Page(number=query.page, size=query.size, total=total)
    if wants_json(request):
        return page_json(page, capped, "messages", rows)
    return await render(request, "sms_list.html", {
        "messages": rows, "page": page, "capped": capped, "query": query, **choices,
        "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
        "directions": listing.DIRECTIONS, "statuses": listing.STATUSES, "may_attach": listing.may_attach(me),
        **await saved_for(request, "sms")})


def _to_card(request: Request, result: dict):
    if wants_json(request):
        return JSONResponse({"message_id": request.path_params["id"], **result})
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=result["counterparty_id"]) + "#sms",
                            status_code=303)


async def attach_existing(request: Request):
    """POST /sms/{id}/attach (form) or /api/sms/{id}/counterparty (JSON) {"counterparty_id": N}."""
    if wants_json(request):
        counterparty_id = (await json_body(request, SmsAttachIn)).counterparty_id
    else:
        counterparty_id = (await form_body(request, SmsAttachIn))[0].counterparty_id
    async with connection(request) as conn:
        result = await attach.attach_message(conn, request.user, request.path_params["id"], counterparty_id)
    return _to_card(request, result)


async def attach_new(request: Request):
    """POST /sms/{id}/attach-new: a new client with the name typed, the number's messages on it."""
    form = (await form_body(request, SmsAttachNewForm))[0]
    async with connection(request) as conn:
        result = await attach.attach_to_new(
            conn, request.user, request.path_params["id"],
            CounterpartyInput(kind="client", last_name=form.last_name, first_name=form.first_name),
            request.app.state.settings.default_region)
    return _to_card(request, result)


routes = [
    Route("/sms", sms_list, name="sms_list.sms_list", methods=["GET"]),
    Route("/api/sms", sms_list, name="sms_list.sms_api", methods=["GET"]),
    Route("/sms/{id:int}/attach", attach_existing, name="sms_list.attach", methods=["POST"]),
    Route("/api/sms/{id:int}/counterparty", attach_existing, name="sms_list.attach_api", methods=["POST"]),
    Route("/sms/{id:int}/attach-new", attach_new, name="sms_list.attach_new", methods=["POST"]),
]
