"""The web chat per operator (issue 23): conversations taken and closed, messages written, over a period -
beside the other reports, for the same readers (managers and above)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.roles import REPORT_ROLES
from crm.webchat import queries as q
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.views.reports import report_period

COUNTS = ("taken", "closed", "messages")


@require_role(*REPORT_ROLES)
async def chats_report(request: Request):
    start, end = report_period(request)
    async with connection(request) as conn:
        rows = [dict(r) for r in await q.per_operator(conn, start, end, request.app.state.settings.timezone)]
    totals = {k: sum(r[k] for r in rows) for k in COUNTS}
    return await html_or_json(request, "reports_chats.html",
                              {"start": start, "end": end, "rows": rows, "totals": totals},
                              lambda: {"from": start, "to": end, "operators": rows, "totals": totals})


routes = [
    Route("/reports/chats", chats_report, name="chat_report.chats_report", methods=["GET"]),
    Route("/api/reports/chats", chats_report, name="chat_report.chats_report_api", methods=["GET"]),
]
