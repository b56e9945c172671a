"""What the filtered lists' pages share (the call log, the SMS list): the tags and the counterparty their
filters name, and the JSON of a page with its capped count."""

from __future__ import annotations

import asyncpg
from starlette.responses import JSONResponse

from crm import tags
from crm.roles import is_customer
from web.jsonout import jsonable
from web.paging import Page


async def filter_names(conn: asyncpg.Connection, counterparty_id: int | None) -> dict:
    """Template context: every tag (the with/without filters) and the name of the counterparty filtered by."""
    name = await conn.fetchval("SELECT display_name FROM counterparties WHERE id = $1",
                               counterparty_id) if counterparty_id else None
    return {"all_tags": await tags.list_tags(conn), "counterparty_name": name}


def for_reader(user, choices: dict) -> dict:
    """The filters' choices as this reader may read them: a customer's user (issue 22, G3) is shown none
    of the call centre's own directory - its users, queues, lines, tags, gateways, counterparties - only
    the rows of its own orders (crm/customers_scope.py)."""
    if not is_customer(user):
        return choices
    return {key: [] if isinstance(value, list | tuple) else None for key, value in choices.items()}


def page_json(page: Page, capped: bool, key: str, rows: list) -> JSONResponse:
    return JSONResponse(jsonable({"total": page.total, "total_capped": capped, "page": page.number,
                                  "page_size": page.size, key: rows}))
