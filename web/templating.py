"""Jinja2 templates, autoescaped, with what every page shows: the user, the CSRF
token, the section names an admin chose, and the user's collapsed cards."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from crm import appsettings, i18n, labels, roles
from crm.agents import queries as agents_q
from crm.audit.changes import value_text as audit_value_text
from crm.calls.route import route_text
from crm.counterparties import tray
from crm.errors import ValidationError
from crm.mail import reading as mail_reading
from crm.orders import permissions as order_permissions
from crm.outbound.permissions import manages_campaigns, sees_campaign_list
from crm.sms import listing as sms_listing
from crm.tasks.callbacks import event_text
from web import formatting
from web.browser_texts import browser_texts
from web.db import connection
from web.locale import RequestLocale, request_locale
from web.urls import app_path_for
from web.validation import describe

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters["route_text"] = route_text
def options(rows, chosen, text: str) -> Markup:
    """<option value="{{ r.id }}" {% if r.id in chosen %}selected{% endif %}>{{ r[text] }}</option> for each
    row, in a join rather than a Jinja loop: the filters of the lists and the call log offer every user, and
    with hundreds of operators that loop was a good part of the page's time (issue 25)."""
    picked = set(chosen)
    return Markup("".join(f'<option value="{r["id"]}" {"selected" if r["id"] in picked else ""}>'
                          f'{escape(r[text])}</option>' for r in rows))


@pass_context
def url_path(ctx, name: str, **params) -> str:
    """The path of a named route (web/app.py and web/views/*.py name every route): links stay
    relative to this site, as `request.url_for` would make them absolute."""
    return app_path_for(ctx["request"].app, name, **params)


templates.env.globals["url_path"] = url_path
templates.env.globals["sees_reports"] = roles.sees_reports
templates.env.globals["sees_wallboard"] = roles.sees_wallboard
templates.env.globals["sees_nodes"] = roles.sees_nodes  # issue 26: the PBX nodes page
templates.env.globals["sees_dial_campaigns"] = sees_campaign_list  # issue 22
templates.env.globals["is_admin"] = roles.is_admin
templates.env.globals["is_customer"] = roles.is_customer  # a customer's user: its own pages only (issue 22)
templates.env.globals["manages_campaigns"] = manages_campaigns  # issue 22: the do-not-call list
templates.env.globals["sees_orders"] = order_permissions.sees_orders  # issue 22: the Orders menu
templates.env.globals["files_mail"] = mail_reading.may_file  # issue 23: the unfiled e-mail list
templates.env.globals["options"] = lambda rows, chosen, text="full_name": options(rows, chosen, text)
templates.env.filters["fromjson"] = lambda value: json.loads(value) if isinstance(value, str) else value


def page_locale(context) -> RequestLocale:
    """The reader's language and zone (web/locale.py), for the page being rendered."""
    try:
        return request_locale(context["request"].scope)
    except (KeyError, AttributeError):
        return RequestLocale(i18n.current(), formatting.DEFAULT_ZONE)


def page_zone(context) -> str:
    return page_locale(context).zone


def centre_zone(context) -> str:
    """The call centre's own zone: deadlines and report days are kept on its clock."""
    try:
        return context["request"].app.state.settings.timezone
    except (KeyError, AttributeError):
        return formatting.DEFAULT_ZONE


# Texts in templates: {{ _("Clients") }}, {{ ngettext("%(num)d call", "%(num)d calls", n) }},
# {% trans %}...{% endtrans %}; the catalogue is crm/i18n.py's, in the request's language.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext)
templates.env.globals["label"] = labels.label  # a stored code in words: label("call_status", c.status)
templates.env.globals["choices"] = labels.choices
templates.env.globals["task_type"] = labels.task_type  # built-in task types in the reader's language
templates.env.globals["audit_value"] = audit_value_text  # an audit row's old or new value in words
templates.env.globals["callback_event"] = event_text  # a queue task's event: callback_event(e, e.at|local_time)
templates.env.globals["page_language"] = pass_context(lambda ctx: page_locale(ctx).language)
templates.env.globals["browser_texts"] = browser_texts  # app.js's words, on <body data-i18n>

# Every time, number and duration on a page goes through these (web/formatting.py).
templates.env.filters["local_time"] = pass_context(
    lambda ctx, value, seconds=False: formatting.local_time(value, page_zone(ctx), seconds,
                                                            page_locale(ctx).language))
templates.env.filters["local_clock"] = pass_context(  # issue 26: "since 14:30 MSK" (today), else with the date
    lambda ctx, value, now=None: formatting.local_clock(value, page_zone(ctx), page_locale(ctx).language, now))
templates.env.filters["local_date"] = pass_context(
    lambda ctx, value, time_of_day=None: formatting.local_date(value, page_zone(ctx), time_of_day,
                                                               page_locale(ctx).language, centre_zone(ctx)))
templates.env.filters["number"] = pass_context(
    lambda ctx, value, digits=None: formatting.number(value, page_locale(ctx).language, digits))
templates.env.filters["percent"] = pass_context(
    lambda ctx, value: formatting.percent(value, page_locale(ctx).language))
templates.env.filters["duration"] = formatting.duration
# The zone's label alone, for a column of times that are already the reader's (report periods).
templates.env.globals["zone_label"] = pass_context(lambda ctx: formatting.zone_label(
    formatting.local_now(page_zone(ctx))))


async def render(request: Request, name: str, context: dict | None = None, status_code: int = 200, *,
                 database: bool = True):
    """The page, with the section names an admin chose and the user's tray read from the
    database; database=False (error pages) shows the default names and no tray instead."""
    user = request.scope.get("user")  # unset when an error is answered before the session check
    ctx = {"user": user, "csrf_token": request.scope.get("csrf_token", ""), "tray": []}
    if database and getattr(request.app.state, "pool", None) is not None:
        async with connection(request) as conn:
            ctx["labels"] = await appsettings.get_all(conn)
            ctx["sms_on"] = await sms_listing.sms_enabled(conn)  # the SMS icons beside numbers (issue 21)
            if user:
                ctx["tray"] = await tray.tray(conn, user["id"])
                ctx["agent"] = await agents_q.presence(conn, user["id"])  # the header's control (issue 18)
    else:
        ctx["labels"] = appsettings.defaults()
    # Each kind's section words in the reader's language: sections.client.name, sections[kind].new().
    ctx["sections"] = ctx["labels"]["sections"]
    ctx.update(context or {})
    error = ctx.get("error")
    if isinstance(error, ValidationError) and "error_lines" not in ctx:
        # Bad input on a page that does not place messages by its fields: each one, in words, once.
        placed = ctx.get("field_errors") or {}
        ctx["error_lines"] = describe({k: v for k, v in error.errors.items() if k not in placed})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
