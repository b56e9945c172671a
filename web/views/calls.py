"""The call log: a page and its JSON twin."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm.calls import queries as calls_q
from web.jsonout import jsonable
from web.paging import Page
from web.templating import render


async def _calls_page(request: Request) -> tuple[Page, list]:
    page = Page.from_request(request)
    async with request.app.state.pool.acquire() as conn:
        total = await calls_q.count_calls(conn)
        rows = await calls_q.list_calls(conn, limit=page.size, offset=page.offset)
    return page.with_total(total), rows


async def calls_list(request: Request):
    page, rows = await _calls_page(request)
    return await render(request, "calls.html", {"calls": rows, "page": page})


async def calls_api(request: Request):
    page, rows = await _calls_page(request)
    return JSONResponse({
        "total": page.total, "page": page.number, "page_size": page.size,
        "calls": jsonable(rows),
    })


routes = [
    Route("/calls", calls_list, methods=["GET"]),
    Route("/api/calls", calls_api, methods=["GET"]),
]
