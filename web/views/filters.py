"""Saving and deleting filter sets; the lists show the user's own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import filters
from web.db import connection
from web.schemas import FilterForm
from web.urls import path_for
from web.validation import form_body

# Each of crm.filters.SECTIONS and the name of its list page's route.
LIST_ROUTES = {"clients": "counterparty_lists.clients", "companies": "counterparty_lists.companies",
               "tasks": "tasks.tasks_list", "calls": "calls.calls_list",
               "sms": "sms_list.sms_list"}


def _list_path(request: Request, section: str) -> str:
    return path_for(request, LIST_ROUTES[section])


async def save(request: Request):
    form, _ = await form_body(request, FilterForm)
    section = form.section
    async with connection(request) as conn:
        await filters.save(conn, request.user["id"], section, form.name, form.query)
    return RedirectResponse(f"{_list_path(request, section)}?{filters.clean_query(form.query)}",
                            status_code=303)


async def delete(request: Request):
    async with connection(request) as conn:
        section = await filters.delete(conn, request.user["id"], request.path_params["id"])
    return RedirectResponse(_list_path(request, section), status_code=303)


async def saved_for(request: Request, section: str) -> dict:
    """Template context for _saved_filters.html."""
    async with connection(request) as conn:
        mine = await filters.mine(conn, request.user["id"], section)
    return {"saved_filters": mine, "filter_section": section, "filter_path": _list_path(request, section),
            "current_query": request.url.query}


routes = [
    Route("/filters", save, name="filters.save", methods=["POST"]),
    Route("/filters/{id:int}/delete", delete, name="filters.delete", methods=["POST"]),
]
