"""Scheduled call pages (issue 22, H8): the list (one's own; supervisors and admins everyone's) with a form
for any number, a page per scheduled call with its status and its call, planning one (from that form, a
counterparty's card or a task: _schedule_call_form.html) and cancelling one. Customers see none. Planning
and cancelling are audited (crm/scheduled_calls/queries.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.roles import is_customer
from crm.scheduled_calls import model
from crm.scheduled_calls import queries as sq
from web.db import connection
from web.locale import request_locale
from web.paging import Page
from web.schemas_scheduled_calls import ScheduledCallForm
from web.templating import render
from web.urls import path_for
from web.validation import parse


def _zone(request: Request) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(request_locale(request.scope).zone)


def _now(request: Request) -> dt.datetime:
    return request.app.state.settings.clock.now()


def schedule_form(request: Request, *, numbers: Iterable[str] = (), counterparty_id: int | None = None,
                  task_id: int | None = None, values: dict | None = None, field_errors: dict | None = None) -> dict:
    """What _schedule_call_form.html needs: the numbers offered (the first filled in), where it is planned
    from, and the values (by default: the next full hour on the user's clock, a reminder)."""
    user = request.scope.get("user")
    if user is None or is_customer(user):
        return {}
    numbers = [n for n in dict.fromkeys(numbers) if n]
    later = (_now(request).astimezone(_zone(request)) + dt.timedelta(hours=1)).replace(minute=0, second=0,
                                                                                       microsecond=0)
    defaults = {"number": numbers[0] if numbers else "", "due_date": later.date().isoformat(),
                "due_time": later.strftime("%H:%M"), "action": model.REMIND, "note": ""}
    return {"values": {**defaults, **(values or {})}, "field_errors": field_errors or {}, "numbers": numbers,
            "counterparty_id": counterparty_id, "task_id": task_id, "actions": model.ACTIONS,
            "action_names": model.ACTION_NAMES, "can_dial": bool(user["extension"])}


_FIELDS = ("number", "due_date", "due_time", "action", "note", "counterparty_id", "task_id")


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 16 else None


def _due_at(request: Request, form: ScheduledCallForm) -> dt.datetime:
    errors = {}
    if form.due_date is None:
        errors["due_date"] = _("choose a day")
    if form.due_time is None:
        errors["due_time"] = _("choose a time")
    if errors or form.due_date is None or form.due_time is None:
        raise ValidationError(errors)
    return dt.datetime.combine(form.due_date, form.due_time, _zone(request))


async def calls_list(request: Request):
    page = Page.from_request(request)
    async with connection(request) as conn:
        page = page.with_total(await sq.count_visible(conn, request.user))
        rows = await sq.visible(conn, request.user, page.size, page.offset)
    return await render(request, "scheduled_calls.html", {
        "calls": rows, "page": page, "status_text": model.status_text, "reason_text": model.reason_text,
        "action_names": model.ACTION_NAMES,
        "may_cancel": lambda row: model.may_cancel(request.user, row), "schedule": schedule_form(request)})


async def create(request: Request):
    """POST /scheduled-calls: from the list, a card or a task (CSRF-checked form); bad input shows the form
    again with what was typed and each message by its field."""
    sq.refuse_customers(request.user)
    raw = await request.form()
    typed = {k: v if isinstance(v := raw.get(k), str) else "" for k in _FIELDS}
    try:
        form = parse(ScheduledCallForm, raw)
        inp = sq.ScheduledCallInput(number=form.number, due_at=_due_at(request, form), action=form.action,
                                    note=form.note, counterparty_id=form.counterparty_id, task_id=form.task_id)
        async with connection(request) as conn:
            call_id = await sq.create(conn, request.user, inp, now=_now(request),
                                      region=request.app.state.settings.default_region)
    except ValidationError as e:
        errors = dict(e.errors)
        if "due_date" in errors and "due_time" not in errors and typed["due_date"]:
            errors["due_time"] = errors.pop("due_date")  # the day is fine, the hour has passed
        schedule = schedule_form(request, numbers=[typed["number"]], counterparty_id=_id(typed["counterparty_id"]),
                                 task_id=_id(typed["task_id"]), values=typed, field_errors=errors)
        return await render(request, "scheduled_call_new.html", {"schedule": schedule, "error": e,
                                                                 "field_errors": errors}, status_code=400)
    return RedirectResponse(path_for(request, "scheduled_calls.call_page", id=call_id), status_code=303)


async def call_page(request: Request):
    async with connection(request) as conn:
        row = await sq.get(conn, request.user, request.path_params["id"])
    return await render(request, "scheduled_call.html", {
        "call": row, "status_text": model.status_text, "reason_text": model.reason_text,
        "action_names": model.ACTION_NAMES,
        "may_cancel": model.may_cancel(request.user, row)})


async def cancel(request: Request):
    """POST /scheduled-calls/{id}/cancel (CSRF-checked form)."""
    async with connection(request) as conn:
        await sq.cancel(conn, request.user, request.path_params["id"])
    return RedirectResponse(path_for(request, "scheduled_calls.call_page", id=request.path_params["id"]),
                            status_code=303)


routes = [
    Route("/scheduled-calls", calls_list, name="scheduled_calls.calls_list", methods=["GET"]),
    Route("/scheduled-calls", create, name="scheduled_calls.create", methods=["POST"]),
    Route("/scheduled-calls/{id:int}", call_page, name="scheduled_calls.call_page", methods=["GET"]),
    Route("/scheduled-calls/{id:int}/cancel", cancel, name="scheduled_calls.cancel", methods=["POST"]),
]
