"""Excel export of the section lists with their current filters (F4).

These views take connections from the pool for exactly as long as they need them, not the
request's connection (web/db.py): that one is held until the response has been sent, and an
export's response is a file of up to hundreds of megabytes sent to a possibly slow client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from crm import appsettings, audit
from crm.calls.route import route_text
from crm.errors import Forbidden
from crm.export import queries as export_q
from crm.export.xlsx import BATCH, Column, remove_export, write_xlsx
from crm.reports.calls import consolidated
from crm.reports.deals import managers_deals
from crm.tasks import queries as tq
from web.views.counterparty_lists import list_query
from web.views.reports import report_period, stats_query
from web.views.tasks import task_query

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COUNTERPARTY_COLUMNS = [
    Column("ID", "id", "int", 8), Column("Name", "display_name", width=36), Column("Remark", "remark", width=24),
    Column("Status", "status", width=10), Column("Responsible", "responsible_name", width=22),
    Column("Companies", "companies", width=30), Column("Phones", "phones", width=30),
    Column("E-mails", "emails", width=30), Column("Comment", "comment", width=30),
    Column("Created", "created_at", "datetime", 17),
]
TASK_COLUMNS = [
    Column("No.", "id", "int", 8), Column("Title", "title", width=36), Column("Type", "type_name", width=14),
    Column("Status", "status", width=12), Column("Outcome", "outcome", width=8),
    Column("Amount", "amount", "money", 14), Column("Responsible", "responsible_name", width=22),
    Column("Counterparty", "counterparty_name", width=30), Column("Deadline", "deadline_date", "date", 12),
    Column("Overdue", "overdue_text", width=8), Column("Created", "created_at", "datetime", 17),
]


async def _may_export(request: Request) -> None:
    async with request.app.state.pool.acquire() as conn:
        roles = (await appsettings.get_all(conn))["export.roles"]
    if request.user["role"] not in roles:
        raise Forbidden("exporting to Excel is for " + ", ".join(roles))


class _TempFileResponse(FileResponse):
    """Sends the export, then removes it: also when the client went away mid-way or sending failed."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            remove_export(Path(self.path))


@contextlib.contextmanager
def _removed_on_failure(path: Path):
    """Between writing the file and handing it to the response: a failure removes it."""
    try:
        yield
    except BaseException:
        remove_export(path)
        raise


def _response(path, rows: int, name: str) -> FileResponse:
    filename = f"{name}-{dt.date.today().isoformat()}.xlsx"
    return _TempFileResponse(path, media_type=XLSX, filename=filename, headers={"X-Rows": str(rows)})


def _counterparties(kind: str):
    async def view(request: Request):
        await _may_export(request)
        settings = request.app.state.settings
        query = list_query(request, kind)
        async with request.app.state.pool.acquire() as conn:
            path, rows = await write_xlsx("Clients" if kind == "client" else "Companies", COUNTERPARTY_COLUMNS,
                                          export_q.counterparty_batches(conn, query, BATCH),
                                          tz=zoneinfo.ZoneInfo(settings.timezone))
            with _removed_on_failure(path):
                await audit.record(conn, request.user["id"], "export", None, f"{kind} list",
                                   {"query": request.url.query, "rows": rows})
        return _response(path, rows, "clients" if kind == "client" else "companies")
    return view


async def tasks_export(request: Request):
    await _may_export(request)
    settings = request.app.state.settings
    query = task_query(request)
    now = settings.clock.now()
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            page = 1
            while True:
                rows, _ = await tq.list_tasks(conn, tq.TaskQuery(**{**query.__dict__, "page": page, "size": BATCH}),
                                              now)
                if not rows:
                    return
                yield [{**r, "overdue_text": "yes" if r["overdue"] else ""} for r in rows]
                page += 1
        path, rows = await write_xlsx("Tasks", TASK_COLUMNS, batches(), tz=zoneinfo.ZoneInfo(settings.timezone))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "task list",
                               {"query": request.url.query, "rows": rows})
    return _response(path, rows, "tasks")


async def _report_response(request: Request, name: str, sheet: str, columns: list[Column], rows: list[dict]):
    await _may_export(request)

    async def one_batch():
        yield rows

    path, count = await write_xlsx(sheet, columns, one_batch(),
                                   tz=zoneinfo.ZoneInfo(request.app.state.settings.timezone))
    with _removed_on_failure(path):
        async with request.app.state.pool.acquire() as conn:
            await audit.record(conn, request.user["id"], "export", None, f"{name} report",
                               {"query": request.url.query, "rows": count})
    return _response(path, count, name)


async def calls_report_export(request: Request):
    """Call statistics as an Excel file (F5): one row per operator and type (F6), then the series."""
    query = stats_query(request)
    async with request.app.state.pool.acquire() as conn:
        table = await consolidated(conn, query)
    columns = [Column("Operator", "operator", width=24), Column("Type", "type", width=10),
               Column("Calls", "calls", "int", 8), Column("Total talk, s", "total_seconds", "money", 14),
               Column("Average talk, s", "average_seconds", "money", 14)]
    return await _report_response(request, "call-statistics", "Calls", columns, table)


async def deals_report_export(request: Request):
    start, end = report_period(request)
    async with request.app.state.pool.acquire() as conn:
        rows = await managers_deals(conn, start, end, request.app.state.settings.timezone)
    columns = [Column("Manager", "manager", width=24), Column("Planned", "planned", "int", 9),
               Column("Won", "won", "int", 7), Column("Lost", "lost", "int", 7),
               Column("In progress", "in_progress", "int", 11), Column("Created", "created", "int", 9),
               Column("Won, amount", "won_amount", "money", 14), Column("All, amount", "total_amount", "money", 14)]
    return await _report_response(request, "deals-by-manager", "Deals", columns, rows)


CALL_COLUMNS = [
    Column("Started", "started_at", "datetime", 17), Column("Direction", "direction", width=10),
    Column("Caller", "caller_number", width=16), Column("Called", "called_number", width=16),
    Column("Line", "line", width=14), Column("Counterparty", "counterparty_name", width=28),
    Column("Operator", "operator_name", width=22), Column("Status", "status", width=10),
    Column("Wait, s", "wait_seconds", "money", 9), Column("Talk, s", "talk_seconds", "money", 9),
    Column("Route", "route_text", width=60), Column("Comment", "comment", width=30),
]


async def calls_export(request: Request):
    """The call log for a period (default: the last 30 days), newest first."""
    await _may_export(request)
    settings = request.app.state.settings
    start, end = report_period(request) if request.query_params.get("from") else \
        (settings.clock.today() - dt.timedelta(days=30), settings.clock.today())
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            async for rows in export_q.call_log_batches(conn, start, end, settings.timezone, BATCH):
                yield [{**r, "route_text": route_text(r["route"])} for r in rows]
        path, rows = await write_xlsx("Calls", CALL_COLUMNS, batches(), tz=zoneinfo.ZoneInfo(settings.timezone))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "call list",
                               {"from": str(start), "to": str(end), "rows": rows})
    return _response(path, rows, "calls")


routes = [
    Route("/calls.xlsx", calls_export, name="export.calls_export", methods=["GET"]),
    Route("/reports/calls.xlsx", calls_report_export, name="export.calls_report_export", methods=["GET"]),
    Route("/reports/deals.xlsx", deals_report_export, name="export.deals_report_export", methods=["GET"]),
    Route("/clients.xlsx", _counterparties("client"), name="export.clients_export", methods=["GET"]),
    Route("/companies.xlsx", _counterparties("company"), name="export.companies_export", methods=["GET"]),
    Route("/tasks.xlsx", tasks_export, name="export.tasks_export", methods=["GET"]),
]
