"""The calls-per-line report (issue 15, L2): a table and a bar chart drawn on the server as
SVG (no script, no CDN), for the roles that read reports; its Excel file is web/views/export.py's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.i18n import gettext as _
from crm.lines.report import calls_per_line, totals
from crm.roles import REPORT_ROLES
from web.call_rules import visible
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.views.reports import report_period

# The chart's geometry, in SVG user units (the picture scales to the page's width).
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT, BAR_HEIGHT, TOP = 200, 440, 30, 18, 24


def row_name(row: dict) -> str:
    return row["name"] if row["line_id"] is not None else _("Numbers without a line")


def chart(rows: list[dict]) -> dict:
    """Bars of answered and missed calls per line, scaled to the busiest line."""
    most = max((r["total"] for r in rows), default=0) or 1
    bars = []
    for i, r in enumerate(rows):
        answered = BAR_WIDTH * r["answered"] / most
        bars.append({"name": row_name(r), "y": TOP + i * ROW_HEIGHT, "answered": r["answered"],
                     "missed": r["missed"], "total": r["total"], "answered_width": round(answered, 1),
                     "missed_x": round(LABEL_WIDTH + answered, 1),
                     "missed_width": round(BAR_WIDTH * r["missed"] / most, 1)})
    return {"bars": bars, "width": LABEL_WIDTH + BAR_WIDTH + 60, "height": TOP + ROW_HEIGHT * len(rows) + 4,
            "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT, "most": most}


async def report_rows(request: Request):
    start, end = report_period(request)
    async with connection(request) as conn:
        rows = await calls_per_line(conn, start, end, request.app.state.settings.timezone,
                                    await visible(request, start=4))
    return start, end, rows


@require_role(*REPORT_ROLES)
async def lines_report(request: Request):
    """Calls per line: the page at /reports/lines, JSON at /api/reports/lines (web/resource.py)."""
    start, end, rows = await report_rows(request)
    summary = totals(rows)
    return await html_or_json(
        request, "reports_lines.html",
        lambda: {"start": start, "end": end, "rows": rows, "totals": summary, "chart": chart(rows),
                 "row_name": row_name},
        lambda: {"from": start, "to": end, "lines": rows, "totals": summary})


routes = [
    Route("/reports/lines", lines_report, name="line_report.lines_report", methods=["GET"]),
    Route("/api/reports/lines", lines_report, name="line_report.lines_report_api", methods=["GET"]),
]
