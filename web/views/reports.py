"""Reports pages. Call statistics (F5-F6): a chart in the browser and the same numbers as tables;
the number of calls, their talk time or their wait time."""

from __future__ import annotations

import datetime as dt

from babel import dates as babel_dates
from starlette.requests import Request
from starlette.routing import Route

from crm import i18n, tags
from crm.errors import ValidationError
from crm.i18n import _, pgettext
from crm.labels import label
from crm.reports.calls import BY, GROUPS, NOBODY, TYPES, CallStatsQuery, buckets, call_series, consolidated
from crm.reports.deals import DealFilter, managers_deals
from crm.roles import CALL_REPORT_ROLES, REPORT_ROLES, is_customer
from crm.tasks.model import STATUSES as TASK_STATUSES
from crm.users import queries as users_q
from web import formatting
from web.call_rules import visible
from web.db import connection
from web.locale import request_locale
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import CallsReportQuery, DealsReportQuery, PeriodQuery
from web.validation import query as parse_query


def stats_query(request: Request) -> CallStatsQuery:
    params = parse_query(request, CallsReportQuery)
    settings = request.app.state.settings
    today = settings.clock.today()
    start = params.start or today - dt.timedelta(days=6)
    end = params.end or today
    if end < start or (end - start).days > 366:
        raise ValidationError({"to": _("a period is 1 to 366 days, ending after it starts")})
    group, by = params.group, params.by
    if group not in GROUPS or by not in BY:
        raise ValidationError({"group": _("group by %(groups)s; by %(splits)s")
                              % {"groups": ", ".join(GROUPS), "splits": ", ".join(BY)}})
    if group == "hour" and (end - start).days > 31:
        raise ValidationError({"group": _("hourly statistics cover at most a month")})
    return CallStatsQuery(start=start, end=end, group=group, by=by, timezone=settings.timezone,
                          tag_ids=params.tag, without_tag_ids=params.notag)


async def _stats(request: Request):
    """The statistics count only the calls the reader may see (the call rules)."""
    query = stats_query(request)
    async with connection(request) as conn:
        # The tag filters name the call centre's tags: not a customer's to read (crm/customers_scope.py).
        all_tags = [] if is_customer(request.user) else await tags.list_tags(conn)
        return query, await call_series(conn, query, await visible(request, start=5)), \
            await consolidated(conn, query, await visible(request, start=4)), all_tags


def period_label(bucket: dt.datetime, group: str, language: str) -> str:
    """A bar's period in the reader's language: "05.01.2026, 14:00", "1/5/2026", "январь 2026 г."."""
    locale = i18n.locale_of(language)
    if group == "month":
        return babel_dates.format_skeleton("yMMMM", bucket, locale=locale)
    day = formatting.local_date(bucket.date(), language=language)
    if group == "hour":
        return locale.datetime_formats["short"].format(babel_dates.format_time(bucket.time(), "short", locale=locale),
                                                      day)
    return day  # a day, or the first day of a week


def series_name(query: CallStatsQuery, key: str) -> str:
    if query.by == "type":
        return label("call_type", key)
    return pgettext("operator", "nobody") if key == NOBODY else key


@require_role(*CALL_REPORT_ROLES)
async def calls_report(request: Request):
    """Call statistics: the page at /reports/calls, JSON at /api/reports/calls (web/resource.py)."""
    query, series, table, all_tags = await _stats(request)
    asked = parse_query(request, PeriodQuery).metric
    metric = asked if asked in ("seconds", "wait") else "calls"
    language = request_locale(request.scope).language
    periods = [period_label(b, query.group, language) for b in buckets(query)]
    names = {key: series_name(query, key) for key in series["series"]}
    return await html_or_json(request, "reports_calls.html", {
        "query": query, "series": series, "table": table, "groups": GROUPS, "bys": BY, "types": TYPES,
        "metric": metric, "periods": periods, "names": names, "nobody": NOBODY,
        "all_tags": all_tags, "with_tags": query.tag_ids, "without_tags": query.without_tag_ids,
        # The periods' zone is the call centre's, whatever the reader's own.
        "zone": formatting.zone_label(formatting.local_now(query.timezone)),
        "chart": {**series, "metric": metric, "labels": periods, "names": names}},
        lambda: {"from": query.start.isoformat(), "to": query.end.isoformat(), "group": query.group,
                 "by": query.by, "tag": list(query.tag_ids), "notag": list(query.without_tag_ids), **series,
                 "consolidated": table})


def report_period(request: Request) -> tuple[dt.date, dt.date]:
    today = request.app.state.settings.clock.today()
    params = parse_query(request, PeriodQuery)
    start = params.start or today.replace(day=1)
    end = params.end or today
    if end < start:
        raise ValidationError({"to": _("the period ends before it starts")})
    return start, end


def deal_filter(request: Request) -> DealFilter:
    params = parse_query(request, DealsReportQuery)
    if params.status and params.status not in TASK_STATUSES:
        raise ValidationError({"status": _("no such status")})
    return DealFilter(responsible_id=params.responsible, statuses=(params.status,) if params.status else (),
                      tag_ids=params.tag, without_tag_ids=params.notag)


@require_role(*REPORT_ROLES)
async def deals_report(request: Request):
    start, end = report_period(request)
    deals_filter = deal_filter(request)
    async with connection(request) as conn:
        rows = await managers_deals(conn, start, end, request.app.state.settings.timezone,
                                    deal_filter=deals_filter)
        users = await users_q.list_users(conn)
        all_tags = await tags.list_tags(conn)
    totals = {k: sum(r[k] for r in rows) for k in ("planned", "won", "lost", "in_progress", "created",
                                                   "won_amount", "total_amount")}
    return await html_or_json(request, "reports_deals.html",
                              {"start": start, "end": end, "rows": rows, "totals": totals, "filter": deals_filter,
                               "users": users, "all_tags": all_tags, "with_tags": deals_filter.tag_ids,
                               "without_tags": deals_filter.without_tag_ids},
                              lambda: {"from": start, "to": end, "managers": rows, "totals": totals})


routes = [
    Route("/reports/deals", deals_report, name="reports.deals_report", methods=["GET"]),
    Route("/reports/calls", calls_report, name="reports.calls_report", methods=["GET"]),
    Route("/api/reports/calls", calls_report, name="reports.calls_report_api", methods=["GET"]),
]
