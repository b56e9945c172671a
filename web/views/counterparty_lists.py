"""The Clients and Companies sections: server-side search, filters, sorting, paging."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm import tags
from crm.counterparties import statuses
from crm.counterparties.listing import SORTS, ListQuery, list_counterparties
from crm.errors import ValidationError
from crm.i18n import _
from crm.users import queries as users_q
from web.db import connection
from web.jsonout import jsonable
from web.paging import Page
from web.resource import wants_json
from web.schemas import CounterpartyListQuery
from web.templating import render
from web.validation import query as parse_query
from web.views.filters import saved_for


def list_query(request: Request, kind: str) -> ListQuery:
    params = parse_query(request, CounterpartyListQuery)
    page = Page.from_request(request)
    status = params.status or None
    return ListQuery(
        tag_ids=params.tag, without_tag_ids=params.notag,
        kind=kind, q=params.q, status=status,
        responsible_id=params.responsible,
        company_id=params.company if kind == "client" else None,
        sort=params.sort if params.sort in SORTS else "name", descending=params.dir == "desc",
        page=page.number, size=page.size, default_region=request.app.state.settings.default_region,
    )


def _section(kind: str):
    """The section's list: the page at /clients, JSON at /api/clients (web/resource.py)."""
    async def view(request: Request):
        query = list_query(request, kind)
        async with connection(request) as conn:
            all_statuses = await statuses.list_statuses(conn)
            if query.status and query.status not in {s["code"] for s in all_statuses}:
                raise ValidationError({"status": _("no such status")})
            result = await list_counterparties(conn, query)
            if wants_json(request):
                return JSONResponse({"total": result.total, "total_capped": result.total_capped,
                                     "page": query.page, "page_size": query.size, "items": jsonable(result.rows)})
            users = await users_q.list_users(conn)
            all_tags = await tags.list_tags(conn)
        page = Page(number=query.page, size=query.size, total=result.total)
        return await render(request, "counterparty_list.html", {
            "kind": kind, "query": query, "rows": result.rows, "page": page, "capped": result.total_capped,
            "users": users, "statuses": all_statuses,
            "status_names": {s["code"]: s["words"] for s in all_statuses}, "sorts": list(SORTS), "all_tags": all_tags,
            "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
            **await saved_for(request, "clients" if kind == "client" else "companies"),
        })
    return view


clients = _section("client")
companies = _section("company")

routes = [
    Route("/clients", clients, name="counterparty_lists.clients", methods=["GET"]),
    Route("/companies", companies, name="counterparty_lists.companies", methods=["GET"]),
    Route("/api/clients", clients, name="counterparty_lists.clients_api", methods=["GET"]),
    Route("/api/companies", companies, name="counterparty_lists.companies_api", methods=["GET"]),
]
