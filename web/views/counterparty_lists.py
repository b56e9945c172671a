"""The Clients and Companies sections: server-side search, filters, sorting, paging."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm import tags
from crm.counterparties.listing import SORTS, ListQuery, list_counterparties
from crm.counterparties.model import STATUSES
from crm.errors import ValidationError
from crm.users import queries as users_q
from web.jsonout import jsonable
from web.schemas import CounterpartyListQuery
from web.validation import query as parse_query
from web.views.filters import saved_for
from web.paging import Page
from web.templating import render
from web.db import connection


def list_query(request: Request, kind: str) -> ListQuery:
    params = parse_query(request, CounterpartyListQuery)
    page = Page.from_request(request)
    status = params.status or None
    if status and status not in STATUSES:
        raise ValidationError({"status": f"must be one of {', '.join(STATUSES)}"})
    return ListQuery(
        tag_ids=params.tag, without_tag_ids=params.notag,
        kind=kind, q=params.q, status=status,
        responsible_id=params.responsible,
        company_id=params.company if kind == "client" else None,
        sort=params.sort if params.sort in SORTS else "name", descending=params.dir == "desc",
        page=page.number, size=page.size, default_region=request.app.state.settings.default_region,
    )


async def _list(request: Request, kind: str):
    query = list_query(request, kind)
    async with connection(request) as conn:
        result = await list_counterparties(conn, query)
        users = await users_q.list_users(conn)
        all_tags = await tags.list_tags(conn)
    return query, result, users, all_tags


def _section_page(kind: str):
    async def view(request: Request):
        query, result, users, all_tags = await _list(request, kind)
        page = Page(number=query.page, size=query.size, total=result.total)
        return await render(request, "counterparty_list.html", {
            "kind": kind, "query": query, "rows": result.rows, "page": page, "capped": result.total_capped,
            "users": users, "statuses": STATUSES, "sorts": list(SORTS), "all_tags": all_tags,
            "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
            **await saved_for(request, "clients" if kind == "client" else "companies"),
        })
    return view


def _section_api(kind: str):
    async def view(request: Request):
        query, result, _, _ = await _list(request, kind)
        return JSONResponse({"total": result.total, "total_capped": result.total_capped, "page": query.page,
                             "page_size": query.size, "items": jsonable(result.rows)})
    return view


routes = [
    Route("/clients", _section_page("client"), name="counterparty_lists.clients", methods=["GET"]),
    Route("/companies", _section_page("company"), name="counterparty_lists.companies", methods=["GET"]),
    Route("/api/clients", _section_api("client"), name="counterparty_lists.clients_api", methods=["GET"]),
    Route("/api/companies", _section_api("company"), name="counterparty_lists.companies_api", methods=["GET"]),
]
