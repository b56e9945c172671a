"""The call rules (crm/calls/rules.py) for a request: loaded once per request from the database, so
an admin's change holds from the next request on, in every worker, with no cache to invalidate."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from crm.calls import rule_queries
from crm.calls.rules import SEE, Rule
from crm.calls.rules_sql import condition
from web.db import connection

_KEY = "pbxcrm.call_rules"


async def rules_of(request: HTTPConnection) -> tuple[Rule, ...]:
    rules = request.scope.get(_KEY)
    if rules is None:
        async with connection(request) as conn:
            rules = request.scope[_KEY] = await rule_queries.load(conn)
    return rules


async def visible(request: HTTPConnection, action: str = SEE, *, alias: str = "c",
                  start: int = 1) -> tuple[str, list]:
    """The SQL condition (and its parameters from $start) for the calls this request's user may `action`."""
    return condition(await rules_of(request), request.user, action, alias=alias, start=start)
