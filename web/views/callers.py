"""The unknown callers list (issue 15): numbers on no card that called lately, for the queues'
members to call back or make a card of (crm/callers/queries.py decides who sees which)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.routing import Route

from crm.callers import queries as callers_q
from crm.roles import sees_everything
from crm.voicemails import queries as voicemails_q
from crm.voicemails.model import can_play
from web.call_rules import rules_of
from web.db import connection
from web.paging import Page
from web.resource import html_or_json
from web.schemas import UnknownCallersQuery
from web.validation import query as parse_query

DEFAULT_DAYS = 30


async def unknown_callers(request: Request):
    """The page at /callers/unknown, JSON at /api/callers/unknown (web/resource.py)."""
    params, page, me = parse_query(request, UnknownCallersQuery), Page.from_request(request), request.user
    days = params.days or DEFAULT_DAYS
    since = request.app.state.settings.clock.now() - dt.timedelta(days=days)
    async with connection(request) as conn:
        rows, total = await callers_q.unknown_callers(conn, callers_q.CallersQuery(
            since=since, viewer_id=None if sees_everything(me) else me["id"], page=page.number, size=page.size,
            rules=(rules := await rules_of(request)), reader=me))
        voicemails = [v for v in await voicemails_q.strangers_voicemails(conn, since)
                      if can_play(me, v, v["listeners"], rules)]
    page = page.with_total(total)
    return await html_or_json(request, "unknown_callers.html", {
        "callers": rows, "page": page, "days": days,
        # Voicemails left by unknown callers, those the reader may play: _unknown_caller_voicemails.html.
        "voicemails": voicemails,
    }, lambda: {"total": total, "page": page.number, "page_size": page.size, "days": days,
                "callers": [{k: v for k, v in r.items() if k != "total"} for r in rows]})


routes = [
    Route("/callers/unknown", unknown_callers, name="callers.unknown_callers", methods=["GET"]),
    Route("/api/callers/unknown", unknown_callers, name="callers.unknown_callers_api", methods=["GET"]),
]
