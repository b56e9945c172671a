"""The call log (one view for the page and its JSON; filters, search, a capped count), click-to-call
and call attachments."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.calls import listing
from crm.calls.attach import attach_call, call_id_by_channel, comment_call
from crm.calls.rules import LISTEN
from crm.clicktocall import queries as c2c_q
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import gettext as _
from crm.roles import acts_for_others
from crm.users import queries as users_q
from web.call_rules import rules_of, visible
from web.db import connection
from web.limits import CHANNEL
from web.list_pages import filter_names, for_reader, page_json
from web.paging import Page
from web.resource import wants_json
from web.schemas import AttachIn, CallCommentIn, CallListQuery, ClickToCallIn
from web.templating import render
from web.validation import json_body, path_text
from web.validation import query as parse_query
from web.views.filters import saved_for


def call_query(request: Request) -> listing.CallQuery:
    """The call log's filters from the query string (the page, its JSON, its export and saved filters)."""
    params = parse_query(request, CallListQuery)
    page = Page.from_request(request)
    if params.start and params.end and params.end < params.start:
        raise ValidationError({"to": _("the period ends before it starts")})
    settings = request.app.state.settings
    return listing.CallQuery(
        start=params.start, end=params.end, directions=tuple(d for d in params.direction if d in listing.DIRECTIONS),
        statuses=tuple(s for s in params.status if s in listing.STATUSES), operator_ids=params.operator,
        queue_ids=params.queue, line_ids=params.line, number=params.number, counterparty_id=params.counterparty,
        tag_ids=params.tag, without_tag_ids=params.notag, q=params.q, page=page.number, size=page.size,
        timezone=settings.timezone, default_region=settings.default_region)


async def calls_list(request: Request):
    """The call log: the page at /calls, JSON at /api/calls (web/resource.py). Only the calls the
    user may see (the call rules, in the database: before LIMIT and count); a player only for
    the recordings the user may hear."""
    query = call_query(request)
    where = await visible(request)
    async with connection(request) as conn:
        total, capped = await listing.count_calls(conn, query, where)
        rows = await listing.list_calls(conn, query, where, many=capped)
        recordings = await listing.playable(conn, [r["id"] for r in rows], await visible(request, LISTEN, start=2))
        for r in rows:
            r["recording_id"] = recordings.get(r["id"])
        if not wants_json(request):
            choices = for_reader(request.user, {**await listing.choices(conn),
                                                 **await filter_names(conn, query.counterparty_id)})
    page = Page(number=query.page, size=query.size, total=total)
    if wants_json(request):
        return page_json(page, capped, "calls", rows)
    return await render(request, "calls.html", {
        "calls": rows, "page": page, "capped": capped, "query": query, **choices,
        "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
        "directions": listing.DIRECTIONS, "statuses": listing.STATUSES, **await saved_for(request, "calls")})


async def click_to_call(request: Request):
    """POST /api/calls {"number": ..., "user_id": optional}: ring the user's phone, then the number."""
    body = await json_body(request, ClickToCallIn)
    number = body.number
    me = request.user
    user_id = body.user_id or me["id"]
    if user_id != me["id"] and not acts_for_others(me):
        raise Forbidden(_("only supervisors and admins place calls for someone else"))
    async with connection(request) as conn:
        user = await users_q.user_by_id(conn, user_id)
        if user is None or user["deleted_at"] is not None or user["is_blocked"]:
            raise ValidationError({"user_id": _("no such active user")})
        request_id = await c2c_q.request_call(conn, user=user, number=number, requested_by=me["id"],
                                              region=request.app.state.settings.default_region)
    return JSONResponse({"id": request_id, "status": "pending"}, status_code=202)


async def click_to_call_status(request: Request):
    async with connection(request) as conn:
        row = await c2c_q.get(conn, request.path_params["id"])
    me = request.user
    if row is None or (row["requested_by"] != me["id"] and not acts_for_others(me)):
        raise NotFound(_("no such call request"))
    return JSONResponse({"id": row["id"], "status": row["status"], "error": row["error"],
                         "number": row["number"], "extension": row["extension"]})


async def attach(request: Request):
    """POST /api/calls/{id}/counterparty {"counterparty_id": N}: whose call this was."""
    counterparty_id = (await json_body(request, AttachIn)).counterparty_id
    async with connection(request) as conn:
        message = await attach_call(conn, request.user, request.path_params["id"], counterparty_id,
                                    await rules_of(request))
    return JSONResponse({"call_id": request.path_params["id"], "counterparty_id": counterparty_id,
                         "number": message})


async def attach_by_channel(request: Request):
    """The screen pop knows the call by its channel: POST /api/calls/channel/{channel}/counterparty."""
    channel = path_text(request, "channel", CHANNEL)
    counterparty_id = (await json_body(request, AttachIn)).counterparty_id
    async with connection(request) as conn:
        call_id = await call_id_by_channel(conn, channel)
        message = await attach_call(conn, request.user, call_id, counterparty_id, await rules_of(request))
    return JSONResponse({"call_id": call_id, "counterparty_id": counterparty_id, "number": message})


async def comment(request: Request):
    """POST /api/calls/channel/{channel}/comment {"comment": ...}: the operator's words on the call."""
    channel = path_text(request, "channel", CHANNEL)
    text = (await json_body(request, CallCommentIn)).comment
    async with connection(request) as conn:
        call_id = await call_id_by_channel(conn, channel)
        await comment_call(conn, request.user, call_id, text, await rules_of(request))
    return JSONResponse({"call_id": call_id, "comment": text})


routes = [
    Route("/api/calls/{id:int}/counterparty", attach, name="calls.attach", methods=["POST"]),
    Route("/api/calls/channel/{channel}/counterparty", attach_by_channel,
          name="calls.attach_by_channel", methods=["POST"]),
    Route("/api/calls/channel/{channel}/comment", comment, name="calls.comment", methods=["POST"]),
    Route("/api/calls", click_to_call, name="calls.click_to_call", methods=["POST"]),
    Route("/api/calls/{id:int}", click_to_call_status, name="calls.click_to_call_status", methods=["GET"]),
    Route("/calls", calls_list, name="calls.calls_list", methods=["GET"]),
    Route("/api/calls", calls_list, name="calls.calls_api", methods=["GET"]),
]
