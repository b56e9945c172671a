"""Excel export of the section lists with their current filters (F4).

These views take connections from the pool for exactly as long as they need them, not the
request's connection (web/db.py): that one is held until the response has been sent, and an
export's response is a file of up to hundreds of megabytes sent to a possibly slow client.

A file is written for the user who asks (issue 14): headers, sheet names and stored codes
(a call's status, a task's) in their language, times as Excel datetimes on their clock.
The file's name stays ASCII.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from crm import appsettings, audit
from crm.calls import listing as call_listing
from crm.calls.route import route_text
from crm.counterparties import statuses
from crm.errors import Forbidden
from crm.export import queries as export_q
from crm.export.xlsx import BATCH, Column, remove_export, write_xlsx, write_xlsx_sheets
from crm.i18n import N_, gettext, pgettext
from crm.i18n import gettext as _
from crm.labels import label, task_type
from crm.reports.calls import NOBODY, buckets, call_series, consolidated
from crm.reports.deals import managers_deals
from crm.roles import CALL_REPORT_ROLES, REPORT_ROLES, is_customer
from crm.shop_orders import queries as shop_orders_q
from crm.sms import listing as sms_listing
from crm.tasks import queries as tq
from web.call_rules import visible
from web.locale import request_locale
from web.permissions import require_role
from web.views.calls import call_query
from web.views.counterparty_lists import list_query
from web.views.line_report import report_rows, row_name
from web.views.queue_report import agent_data, queue_data
from web.views.reports import deal_filter, report_period, series_name, stats_query
from web.views.shop_orders import shop_order_query
from web.views.sms_list import sms_query
from web.views.tasks import task_query

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Column titles are N_ texts, translated per export (_translated).
COUNTERPARTY_COLUMNS = [
    Column(N_("ID"), "id", "int", 8), Column(N_("Name"), "display_name", width=36),  # a client's: _counterparty_columns
    Column(N_("Remark"), "remark", width=24), Column(N_("Status"), "status_text", width=10),
    Column(N_("Responsible"), "responsible_name", width=22), Column(N_("Companies"), "companies", width=30),
    Column(N_("Phones"), "phones", width=30), Column(N_("E-mails"), "emails", width=30),
    Column(N_("Comment"), "comment", width=30), Column(N_("Created"), "created_at", "datetime", 17),
]
TASK_COLUMNS = [
    Column(N_("No."), "id", "int", 8), Column(N_("Title"), "title", width=36),
    Column(N_("Type"), "type_name", width=14),
    Column(N_("Status"), "status_text", width=12), Column(N_("Outcome"), "outcome_text", width=8),
    Column(N_("Amount"), "amount", "money", 14), Column(N_("Responsible"), "responsible_name", width=22),
    Column(N_("Counterparty"), "counterparty_name", width=30), Column(N_("Deadline"), "deadline_date", "date", 12),
    Column(N_("Overdue"), "overdue_text", width=8), Column(N_("Created"), "created_at", "datetime", 17),
]


def _translated(columns: Sequence[Column]) -> list[Column]:
    return [dataclasses.replace(c, title=gettext(c.title)) for c in columns]


def _counterparty_columns(kind: str) -> list[Column]:
    """A client's name is a person's (ФИО in Russian), a company's is its name."""
    columns = _translated(COUNTERPARTY_COLUMNS)
    if kind == "client":
        columns[1] = dataclasses.replace(columns[1], title=pgettext("client", "Name"))
    return columns


def _zone(request: Request) -> zoneinfo.ZoneInfo:
    """The exporting user's clock: Excel has no time zones, so times are written as they read it."""
    return zoneinfo.ZoneInfo(request_locale(request.scope).zone)


async def _may_export(request: Request) -> None:
    if is_customer(request.user):
        return  # a customer's user exports its own orders' calls and SMS (what it sees: crm/customers_scope.py)
    async with request.app.state.pool.acquire() as conn:
        roles = (await appsettings.get_all(conn))["export.roles"]
    if request.user["role"] not in roles:
        raise Forbidden(_("exporting to Excel is for %(roles)s") % {
            "roles": ", ".join(label("role", role) for role in roles)})


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
        query = list_query(request, kind)
        async with request.app.state.pool.acquire() as conn:
            status_names = await statuses.names(conn)

            async def batches():
                async for rows in export_q.counterparty_batches(conn, query, BATCH):
                    yield [{**r, "status_text": status_names.get(r["status"])
                            or label("counterparty_status", r["status"])} for r in rows]
            path, rows = await write_xlsx(_("Clients") if kind == "client" else _("Companies"),
                                          _counterparty_columns(kind), batches(), tz=_zone(request))
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
                batch_query = tq.TaskQuery(**{**query.__dict__, "page": page, "size": BATCH})
                rows, _total = await tq.list_tasks(conn, batch_query, now)
                if not rows:
                    return
                yield [{**r, "overdue_text": _("yes") if r["overdue"] else "", "type_name": task_type(r["type_name"]),
                        "responsible_name": r["responsible_name"] or (
                            _("queue %(name)s") % {"name": r["queue_name"]} if r["queue_name"] else ""),
                        "status_text": label("task_status", r["status"]),
                        "outcome_text": label("deal_outcome", r["outcome"])} for r in rows]
                page += 1
        path, rows = await write_xlsx(_("Tasks"), _translated(TASK_COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "task list",
                               {"query": request.url.query, "rows": rows})
    return _response(path, rows, "tasks")


def _report_export(view, roles: tuple[str, ...] = REPORT_ROLES):
    """A report's Excel file: for the reports' own readers only, whatever the export roles allow
    (web/views/reports.py), and of those for the export roles; both checked before the report is
    computed (a refused request runs no query of it)."""

    @require_role(*roles)
    @functools.wraps(view)
    async def checked(request: Request):
        await _may_export(request)
        return await view(request)

    return checked


async def _report_response(request: Request, name: str, sheet: str, columns: list[Column], rows: list[dict]):
    """The computed report's rows as the file (the roles were checked first: _report_export)."""

    async def one_batch():
        yield rows

    path, count = await write_xlsx(gettext(sheet), _translated(columns), one_batch(), tz=_zone(request))
    with _removed_on_failure(path):
        async with request.app.state.pool.acquire() as conn:
            await audit.record(conn, request.user["id"], "export", None, f"{name} report",
                               {"query": request.url.query, "rows": count})
    return _response(path, count, name)


@functools.partial(_report_export, roles=CALL_REPORT_ROLES)
async def calls_report_export(request: Request):
    """Call statistics as an Excel file (F5): the consolidated table (F6), one row per operator and type,
    then on a sheet of their own the series by the report's hour, day, week or month: calls, talk
    and wait time of each series, one row per period."""
    await _may_export(request)
    query = stats_query(request)
    async with request.app.state.pool.acquire() as conn:
        table = await consolidated(conn, query, await visible(request, start=4))
        series = await call_series(conn, query, await visible(request, start=5))
    columns = [Column(N_("Operator"), "operator", width=24), Column(N_("Type"), "type_text", width=10),
               Column(N_("Calls"), "calls", "int", 8), Column(N_("Total talk, s"), "total_seconds", "money", 14),
               Column(N_("Average talk, s"), "average_seconds", "money", 14),
               Column(N_("Total wait, s"), "total_wait_seconds", "money", 14),
               Column(N_("Average wait, s"), "average_wait_seconds", "money", 14)]
    rows = [{**r, "type_text": label("call_type", r["type"]),
             "operator": pgettext("operator", "nobody") if r["operator"] == NOBODY else r["operator"]} for r in table]
    period_columns = [Column(label("report_period", query.group), "period", "datetime" if query.group == "hour"
                             else "date", 17)]
    for i, key in enumerate(series["series"]):
        name = series_name(query, key)
        period_columns += [Column(_("%(series)s: calls") % {"series": name}, f"calls_{i}", "int", 12),
                           Column(_("%(series)s: talk, s") % {"series": name}, f"seconds_{i}", "money", 14),
                           Column(_("%(series)s: wait, s") % {"series": name}, f"wait_{i}", "money", 14)]
    periods = [{"period": bucket if query.group == "hour" else bucket.date(),
                **{f"{metric}_{i}": s[metric][n] for i, s in enumerate(series["series"].values())
                   for metric in ("calls", "seconds", "wait")}} for n, bucket in enumerate(buckets(query))]
    path, count = await write_xlsx_sheets([
        (_("Calls"), _translated(columns), rows),
        (_("Calls %(group)s") % {"group": label("report_group", query.group)}, period_columns, periods)],
        tz=_zone(request))
    with _removed_on_failure(path):
        async with request.app.state.pool.acquire() as conn:
            await audit.record(conn, request.user["id"], "export", None, "call-statistics report",
                               {"query": request.url.query, "rows": count})
    return _response(path, count, "call-statistics")


@_report_export
async def deals_report_export(request: Request):
    start, end = report_period(request)
    deals_filter = deal_filter(request)
    async with request.app.state.pool.acquire() as conn:
        rows = await managers_deals(conn, start, end, request.app.state.settings.timezone,
                                    deal_filter=deals_filter)
    columns = [Column(N_("Manager"), "manager", width=24), Column(N_("Planned"), "planned", "int", 9),
               Column(N_("Won"), "won", "int", 7), Column(N_("Lost"), "lost", "int", 7),
               Column(N_("In progress"), "in_progress", "int", 11),
               # A count of deals, not a date as in the lists' "Created".
               Column(pgettext("deals report", "Created"), "created", "int", 9),
               Column(N_("Won, amount"), "won_amount", "money", 14),
               Column(N_("All, amount"), "total_amount", "money", 14)]
    return await _report_response(request, "deals-by-manager", N_("Deals"), columns, rows)


@_report_export
async def lines_report_export(request: Request):
    """Calls per line (issue 15) as an Excel file: the report's table."""
    _start, _end, rows, _tags = await report_rows(request)
    columns = [Column(N_("Line"), "line", width=28), Column(N_("Number"), "did", width=16),
               Column(N_("Trunk"), "trunk", width=12), Column(N_("Calls"), "total", "int", 8),
               Column(pgettext("calls", "Answered"), "answered", "int", 10),
               Column(pgettext("calls", "Missed"), "missed", "int", 10),
               Column(N_("Average wait, s"), "average_wait", "money", 14)]
    rows = [{**r, "line": row_name(r)} for r in rows]
    return await _report_response(request, "calls-per-line", N_("Lines"), columns, rows)


@_report_export
async def queues_report_export(request: Request):
    """The queue report (issue 18) as an Excel file: one row per queue, then the total."""
    data = await queue_data(request)
    columns = [Column(N_("Queue"), "name", width=24), Column(N_("Offered"), "offered", "int", 9),
               Column(pgettext("calls", "Answered"), "answered", "int", 10),
               Column(N_("Abandoned"), "abandoned", "int", 10),
               Column(N_("Service level, %"), "service_level_pct", "money", 12),
               Column(N_("Average wait, s"), "average_wait", "money", 14),
               Column(N_("Average wait before abandon, s"), "average_abandon_wait", "money", 16),
               Column(N_("Longest wait before abandon, s"), "max_abandon_wait", "money", 16),
               Column(N_("Service level threshold, s"), "service_level_seconds", "int", 14)]

    def pct(r: dict) -> dict:
        return {**r, "service_level_pct": round(100 * r["service_level"], 1) if r["service_level"] is not None
                else None}
    rows = [pct(r) for r in data["queues"]]
    if rows:
        rows.append(pct({**data["totals"], "name": gettext("Total"), "service_level_seconds": None}))
    return await _report_response(request, "queues", N_("Queues"), columns, rows)


@_report_export
async def agents_report_export(request: Request):
    """The agent report (issue 18) as an Excel file: seconds, one column per pause reason used."""
    data = await agent_data(request)
    columns = [Column(N_("Agent"), "name", width=24), Column(N_("Logged in, s"), "logged_in", "money", 12),
               Column(N_("Paused, s"), "paused", "money", 12)]
    columns += [Column(gettext("Paused: %(reason)s, s") % {"reason": r["name"]}, f"reason_{r['id']}", "money", 14)
                for r in data["reasons"]]
    columns += [Column(N_("Talk time, s"), "talk", "money", 12), Column(N_("Calls handled"), "handled", "int", 10),
                Column(N_("Average handle time, s"), "average_handle", "money", 14)]
    rows = [{**r, **{f"reason_{k}": v for k, v in r["paused_by_reason"].items()}} for r in data["agents"]]
    return await _report_response(request, "agents", N_("Agents"), columns, rows)


CALL_COLUMNS = [
    Column(N_("Started"), "started_at", "datetime", 17), Column(N_("Direction"), "direction_text", width=10),
    Column(N_("Caller"), "caller_number", width=16), Column(N_("Called"), "called_number", width=16),
    Column(N_("Line"), "line_name", width=14), Column(N_("Counterparty"), "counterparty_name", width=28),
    Column(N_("Operator"), "operator_name", width=22), Column(N_("Status"), "status_text", width=10),
    Column(N_("Wait, s"), "wait_seconds", "money", 9), Column(N_("Talk, s"), "talk_seconds", "money", 9),
    Column(N_("Route"), "route_text", width=60), Column(N_("Comment"), "comment", width=30),
]


async def calls_export(request: Request):
    """The call log as the list's filters select it (web/views/calls.py), every page, newest first."""
    await _may_export(request)
    query = call_query(request)
    where = await visible(request)  # only the calls the user may see (the call rules)
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            async for rows in call_listing.export_batches(conn, query, BATCH, where):
                yield [{**r, "route_text": route_text(r["route"]), "line_name": r["line_text"],
                        "direction_text": label("call_direction", r["direction"]),
                        "status_text": label("call_status", r["status"])} for r in rows]
        path, rows = await write_xlsx(_("Calls"), _translated(CALL_COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "call list",
                               {"query": request.url.query, "rows": rows})
    return _response(path, rows, "calls")


SMS_COLUMNS = [
    Column(N_("When"), "created_at", "datetime", 17), Column(N_("Direction"), "direction_text", width=10),
    Column(N_("Number"), "phone", width=16), Column(N_("Our number"), "own_number", width=16),
    Column(N_("Counterparty"), "counterparty_name", width=28), Column(N_("Text"), "body", width=60),
    Column(N_("Parts"), "parts", "int", 6), Column(N_("Author"), "author_name", width=22),
    Column(N_("Status"), "status_text", width=12), Column(N_("Error"), "error", width=24),
    Column(N_("Gateway"), "gateway_name", width=16),
]


async def sms_export(request: Request):
    """The SMS list as its filters select it (web/views/sms_list.py), every page, newest first; only
    the messages the user may see (crm/sms/listing.visibility)."""
    await _may_export(request)
    query = sms_query(request)
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            async for rows in sms_listing.export_batches(conn, query, request.user, BATCH):
                yield [{**r, "direction_text": label("sms_direction", r["direction"]),
                        "status_text": label("sms_status", r["status"])} for r in rows]
        path, rows = await write_xlsx(_("SMS"), _translated(SMS_COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "sms list",
                               {"query": request.url.query, "rows": rows})
    return _response(path, rows, "sms")


SHOP_ORDER_COLUMNS = [
    Column(N_("Ordered"), "ordered", "datetime", 17), Column(N_("Number"), "number", width=12),
    Column(N_("Shop"), "source_name", width=20), Column(N_("Counterparty"), "counterparty_name", width=28),
    Column(N_("Buyer"), "customer_name", width=24), Column(N_("Phone"), "phone", width=16),
    Column(N_("E-mail"), "email", width=24), Column(N_("Sum"), "total", "money", 12),
    Column(N_("Currency"), "currency", width=8), Column(N_("Status"), "status", width=16),
    Column(N_("Paid"), "paid_text", width=8), Column(N_("Problem"), "problem", width=30),
]


async def shop_orders_export(request: Request):
    """The shop orders list as its filters select it (web/views/shop_orders.py), every page; only the
    orders the user may see (crm/shop_orders/permissions.visible_sql)."""
    query = shop_order_query(request)  # 404 for who may not see shop orders
    await _may_export(request)
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            async for rows in shop_orders_q.export_batches(conn, query, request.user, BATCH):
                yield [{**r, "ordered": r["ordered_at"] or r["created_at"],
                        "paid_text": _("yes") if r["paid"] else _("no")} for r in rows]
        path, rows = await write_xlsx(_("Shop orders"), _translated(SHOP_ORDER_COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "shop order list",
                               {"query": request.url.query, "rows": rows})
    return _response(path, rows, "shop-orders")


routes = [
    Route("/shop-orders.xlsx", shop_orders_export, name="export.shop_orders_export", methods=["GET"]),
    Route("/sms.xlsx", sms_export, name="export.sms_export", methods=["GET"]),
    Route("/calls.xlsx", calls_export, name="export.calls_export", methods=["GET"]),
    Route("/reports/calls.xlsx", calls_report_export, name="export.calls_report_export", methods=["GET"]),
    Route("/reports/deals.xlsx", deals_report_export, name="export.deals_report_export", methods=["GET"]),
    Route("/reports/queues.xlsx", queues_report_export, name="export.queues_report_export", methods=["GET"]),
    Route("/reports/agents.xlsx", agents_report_export, name="export.agents_report_export", methods=["GET"]),
    Route("/reports/lines.xlsx", lines_report_export, name="export.lines_report_export", methods=["GET"]),
    Route("/clients.xlsx", _counterparties("client"), name="export.clients_export", methods=["GET"]),
    Route("/companies.xlsx", _counterparties("company"), name="export.companies_export", methods=["GET"]),
    Route("/tasks.xlsx", tasks_export, name="export.tasks_export", methods=["GET"]),
]
