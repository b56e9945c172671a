"""Reports pages. Call statistics (F5-F6): a chart in the browser and the same numbers as tables."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.routing import Route

from crm.errors import ValidationError
from crm.reports.calls import BY, GROUPS, TYPES, CallStatsQuery, call_series, consolidated
from crm.reports.deals import managers_deals
from crm.roles import REPORT_ROLES
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import PeriodQuery
from web.validation import query as parse_query


def stats_query(request: Request) -> CallStatsQuery:
    params = parse_query(request, PeriodQuery)
    settings = request.app.state.settings
    today = settings.clock.today()
    start = params.start or today - dt.timedelta(days=6)
    end = params.end or today
    if end < start or (end - start).days > 366:
        raise ValidationError({"to": "a period is 1 to 366 days, ending after it starts"})
    group, by = params.group, params.by
    if group not in GROUPS or by not in BY:
        raise ValidationError({"group": f"group by {', '.join(GROUPS)}; by {', '.join(BY)}"})
    if group == "hour" and (end - start).days > 31:
        raise ValidationError({"group": "hourly statistics cover at most a month"})
    return CallStatsQuery(start=start, end=end, group=group, by=by, timezone=settings.timezone)


async def _stats(request: Request):
    query = stats_query(request)
    async with connection(request) as conn:
        return query, await call_series(conn, query), await consolidated(conn, query)


@require_role(*REPORT_ROLES)
async def calls_report(request: Request):
    """Call statistics: the page at /reports/calls, JSON at /api/reports/calls (web/resource.py)."""
    query, series, table = await _stats(request)
    metric = "seconds" if parse_query(request, PeriodQuery).metric == "seconds" else "calls"
    return await html_or_json(request, "reports_calls.html", {
        "query": query, "series": series, "table": table, "groups": GROUPS, "bys": BY, "types": TYPES,
        "metric": metric, "chart": {**series, "metric": metric}},
        lambda: {"from": query.start.isoformat(), "to": query.end.isoformat(), "group": query.group,
                 "by": query.by, **series, "consolidated": table})


def report_period(request: Request) -> tuple[dt.date, dt.date]:
    today = request.app.state.settings.clock.today()
    params = parse_query(request, PeriodQuery)
    start = params.start or today.replace(day=1)
    end = params.end or today
    if end < start:
        raise ValidationError({"to": "the period ends before it starts"})
    return start, end


@require_role(*REPORT_ROLES)
async def deals_report(request: Request):
    start, end = report_period(request)
    async with connection(request) as conn:
        rows = await managers_deals(conn, start, end, request.app.state.settings.timezone)
    totals = {k: sum(r[k] for r in rows) for k in ("planned", "won", "lost", "in_progress", "created",
                                                   "won_amount", "total_amount")}
    return await html_or_json(request, "reports_deals.html",
                              {"start": start, "end": end, "rows": rows, "totals": totals},
                              lambda: {"from": start, "to": end, "managers": rows, "totals": totals})


routes = [
    Route("/reports/deals", deals_report, name="reports.deals_report", methods=["GET"]),
    Route("/reports/calls", calls_report, name="reports.calls_report", methods=["GET"]),
    Route("/api/reports/calls", calls_report, name="reports.calls_report_api", methods=["GET"]),
]
