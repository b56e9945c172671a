"""The calls-per-line report (issue 15, L2): a table and a bar chart drawn on the server as
SVG (no script, no CDN), for the roles that read reports; its Excel file is web/views/export.py's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm import tags
from crm.i18n import gettext as _
from crm.lines.report import calls_per_line, totals
from crm.roles import REPORT_ROLES
from web.bar_chart import two_part_bars
from web.call_rules import visible
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import TagFilterQuery
from web.validation import query as parse_query
from web.views.reports import report_period


def row_name(row: dict) -> str:
    return row["name"] if row["line_id"] is not None else _("Numbers without a line")


def chart(rows: list[dict]) -> dict:
    """Bars of answered and missed calls per line, scaled to the busiest line."""
    return two_part_bars([row_name(r) for r in rows], rows, good="answered", bad="missed", total="total",
                         label_width=200, row_height=30, bar_height=18)


async def report_rows(request: Request):
    """The period's rows over the calls the reader may see whose counterparty has the `tag`s and none of
    the `notag`s (D2); for the page and its Excel file."""
    start, end = report_period(request)
    wanted = parse_query(request, TagFilterQuery)
    where = tags.and_call_tags(await visible(request, start=4), 4, wanted.tag, wanted.notag)
    async with connection(request) as conn:
        rows = await calls_per_line(conn, start, end, request.app.state.settings.timezone, where)
    return start, end, rows, wanted


@require_role(*REPORT_ROLES)
async def lines_report(request: Request):
    """Calls per line: the page at /reports/lines, JSON at /api/reports/lines (web/resource.py)."""
    start, end, rows, wanted = await report_rows(request)
    summary = totals(rows)
    async with connection(request) as conn:
        all_tags = await tags.list_tags(conn)
    return await html_or_json(
        request, "reports_lines.html",
        lambda: {"start": start, "end": end, "rows": rows, "totals": summary, "chart": chart(rows),
                 "row_name": row_name, "all_tags": all_tags, "with_tags": wanted.tag, "without_tags": wanted.notag},
        lambda: {"from": start, "to": end, "tag": wanted.tag, "notag": wanted.notag, "lines": rows,
                 "totals": summary})


routes = [
    Route("/reports/lines", lines_report, name="line_report.lines_report", methods=["GET"]),
    Route("/api/reports/lines", lines_report, name="line_report.lines_report_api", methods=["GET"]),
]
