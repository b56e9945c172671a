"""The e-mail report (issue 23): e-mails written and sent per operator, and incoming ones filed on the cards
each is responsible for, over a period; for the report roles, as the other reports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.reports.mail import per_operator
from crm.roles import REPORT_ROLES
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.views.reports import report_period

COUNTS = ("written", "sent", "failed", "incoming")


@require_role(*REPORT_ROLES)
async def mail_report(request: Request):
    start, end = report_period(request)
    async with connection(request) as conn:
        rows = await per_operator(conn, start, end, request.app.state.settings.timezone)
    totals = {k: sum(r[k] for r in rows) for k in COUNTS}
    return await html_or_json(request, "reports_mail.html",
                              {"start": start, "end": end, "rows": rows, "totals": totals},
                              lambda: {"from": start, "to": end, "operators": rows, "totals": totals})


routes = [
    Route("/reports/mail", mail_report, name="mail_reports.mail_report", methods=["GET"]),
    Route("/api/reports/mail", mail_report, name="mail_reports.mail_report_api", methods=["GET"]),
]
