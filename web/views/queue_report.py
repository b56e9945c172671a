"""The queue and agent reports (issue 18), for the roles that read reports (as the call statistics):
tables, a bar chart drawn on the server as SVG (as the lines report), JSON; Excel in web/views/export.py.
The queue report takes the tag filters of the call's counterparty (D2); the agent report does not: it
measures an agent's sessions and pauses, which belong to no counterparty."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.routing import Route

from crm import tags
from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.labels import label
from crm.reports.queues import (
    GROUPS,
    agent_rows,
    queue_rows,
    queue_series,
    queue_totals,
    reason_names,
)
from crm.roles import REPORT_ROLES
from web import formatting
from web.bar_chart import two_part_bars
from web.call_rules import visible
from web.db import connection
from web.locale import request_locale
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import PeriodQuery, TagFilterQuery
from web.validation import query as parse_query
from web.views.reports import period_label, report_period


def queue_params(request: Request) -> tuple[dt.date, dt.date, str]:
    start, end = report_period(request)
    group = parse_query(request, PeriodQuery).group
    if group not in GROUPS:
        raise ValidationError({"group": _("group by %(groups)s") % {"groups": ", ".join(GROUPS)}})
    if group == "hour" and (end - start).days > 31:
        raise ValidationError({"group": _("hourly statistics cover at most a month")})
    return start, end, group


def chart(series: list[dict], labels: list[str]) -> dict:
    """Bars of answered and abandoned calls per period, scaled to the busiest period."""
    return two_part_bars(labels, series, good="answered", bad="abandoned", total="offered",
                         label_width=160, row_height=26, bar_height=16)


async def queue_data(request: Request) -> dict:
    """The period's queue rows, totals and series over the calls the reader may see whose counterparty has
    the `tag`s and none of the `notag`s (D2: an unknown caller's call has no tags); for the page and its
    Excel file."""
    start, end, group = queue_params(request)
    wanted = parse_query(request, TagFilterQuery)
    tz = request.app.state.settings.timezone

    async def where(first: int) -> tuple[str, list]:
        return tags.and_call_tags(await visible(request, start=first), first, wanted.tag, wanted.notag)

    async with connection(request) as conn:
        rows = await queue_rows(conn, start, end, tz, await where(4))
        totals = await queue_totals(conn, start, end, tz, await where(4))
        series = await queue_series(conn, start, end, tz, group, await where(5))
    return {"start": start, "end": end, "group": group, "queues": rows, "totals": totals, "series": series,
            "with_tags": wanted.tag, "without_tags": wanted.notag}


@require_role(*REPORT_ROLES)
async def queues_report(request: Request):
    """Queue report: the page at /reports/queues, JSON at /api/reports/queues."""
    data = await queue_data(request)
    language = request_locale(request.scope).language
    labels = [period_label(r["bucket"], data["group"], language) for r in data["series"]]
    async with connection(request) as conn:
        all_tags = await tags.list_tags(conn)
    return await html_or_json(
        request, "reports_queues.html",
        lambda: {**data, "groups": GROUPS, "all_tags": all_tags, "periods": labels,
                 "chart": chart(data["series"], labels),
                 "zone": formatting.zone_label(formatting.local_now(request.app.state.settings.timezone))},
        lambda: {"from": data["start"], "to": data["end"], "group": data["group"],
                 "tag": data["with_tags"], "notag": data["without_tags"], "queues": data["queues"],
                 "totals": data["totals"],
                 "series": [{**r, "bucket": r["bucket"].isoformat(sep=" ", timespec="minutes")}
                            for r in data["series"]]})


def reason_label(names: dict, reason_id: int | None) -> str:
    code, name = names.get(reason_id, (None, ""))
    if reason_id is None or (code is None and not name):
        return _("no reason")
    return name or label("pause_reason", code)


async def agent_data(request: Request) -> dict:
    start, end = report_period(request)
    settings = request.app.state.settings
    async with connection(request) as conn:
        rows = await agent_rows(conn, start, end, settings.timezone, settings.clock.now(),
                                await visible(request, start=4))
        names = await reason_names(conn)
    used = sorted({k for r in rows for k in r["paused_by_reason"]}, key=lambda k: (k is None, k or 0))
    reasons = [{"id": k, "name": reason_label(names, k)} for k in used]
    return {"start": start, "end": end, "agents": rows, "reasons": reasons}


@require_role(*REPORT_ROLES)
async def agents_report(request: Request):
    """Agent report: the page at /reports/agents, JSON at /api/reports/agents."""
    data = await agent_data(request)
    return await html_or_json(
        request, "reports_agents.html", data,
        lambda: {"from": data["start"], "to": data["end"], "reasons": data["reasons"],
                 "agents": [{**r, "paused_by_reason": [{"reason_id": k, "seconds": v}
                                                       for k, v in r["paused_by_reason"].items()]}
                            for r in data["agents"]]})


routes = [
    Route("/reports/queues", queues_report, name="queue_report.queues_report", methods=["GET"]),
    Route("/api/reports/queues", queues_report, name="queue_report.queues_report_api", methods=["GET"]),
    Route("/reports/agents", agents_report, name="queue_report.agents_report", methods=["GET"]),
    Route("/api/reports/agents", agents_report, name="queue_report.agents_report_api", methods=["GET"]),
]
