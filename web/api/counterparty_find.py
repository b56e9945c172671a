"""GET /api/counterparties/find?q=: clients and companies matching what one types (issue 20: the
task form's counterparty and the calls filter, web/static/counterparty_picker.js). The Clients and Companies lists' own
search (crm/counterparties/listing.py: names, remark, contacts, any word order); every user sees
every live counterparty (crm/counterparties/permissions.can_view), so nothing more to check."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.counterparties.listing import MIN_QUERY, ListQuery, list_counterparties
from web.db import connection
from web.schemas import CounterpartyFindQuery
from web.validation import query as parse_query

LIMIT = 8  # of each kind


async def find(request: Request):
    q = parse_query(request, CounterpartyFindQuery).q.strip()
    items: list[dict] = []
    if len(q) >= MIN_QUERY:
        region = request.app.state.settings.default_region
        async with connection(request) as conn:
            for kind in ("client", "company"):
                result = await list_counterparties(conn, ListQuery(kind=kind, q=q, size=LIMIT, default_region=region))
                items += [{"id": r["id"], "kind": r["kind"], "name": r["display_name"], "remark": r["remark"] or ""}
                          for r in result.rows]
    return JSONResponse({"items": items})


routes = [Route("/api/counterparties/find", find, name="api_counterparty_find.find", methods=["GET"])]
