"""Admin pages for lines and DIDs (issue 15): the list, and a line's form with its route,
language, business hours and holidays, and after-hours route."""

from __future__ import annotations

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, NotFound, ValidationError
from crm.greetings import queries as greetings_q
from crm.greetings.prompts import BUILTIN_PROMPTS, builtin_label, parse_choice, prompt_of
from crm.i18n import LANGUAGE_NAMES, LANGUAGES
from crm.i18n import gettext as _
from crm.ivr import queries as ivr_q
from crm.lines import queries as lines_q
from crm.lines.model import AFTER_HOURS_KINDS, ROUTE_KINDS, LineInput
from crm.lines.schedule import WEEKDAYS, Interval, ScheduleTextError, parse_holidays, parse_intervals
from crm.queues import queries as queues_q
from crm.users import queries as users_q
from web.db import connection
from web.locale import request_locale
from web.permissions import require_role
from web.schemas_telephony import LineForm
from web.templating import render
from web.urls import path_for
from web.validation import parse

# The form's fields, in the order a page shows their messages.
_FIELDS = ("name", "trunk", "did", "language", "route_kind", "route_queue_id", "route_user_id", "hours_enabled",
           *(f"hours_{day}" for day in range(WEEKDAYS)), "holidays", "after_hours_kind", "after_hours_queue_id",
           "after_hours_user_id", "route_menu_id", "after_hours_menu_id", "greeting", "skip_menu_for_known")


def line_input(form: LineForm) -> LineInput:
    """The form as a line, every problem at once: the schedule's text and the line's own rules."""
    errors: dict[str, str] = {}
    weekly: list[tuple[Interval, ...]] = []
    for day in range(WEEKDAYS):
        try:
            weekly.append(parse_intervals(getattr(form, f"hours_{day}")))
        except ScheduleTextError as e:
            errors[f"hours_{day}"] = str(e)
            weekly.append(())
    try:
        holidays = tuple(parse_holidays(form.holidays).values())
    except ScheduleTextError as e:
        errors["holidays"] = str(e)
        holidays = ()
    greeting = parse_choice(form.greeting)
    if greeting is None:
        errors["greeting"] = _("is not a greeting or a built-in prompt")
    line = LineInput(
        name=form.name, trunk=form.trunk, did=form.did, language=form.language or None,
        route_kind=form.route_kind, route_queue_id=form.route_queue_id, route_user_id=form.route_user_id,
        hours_enabled=form.hours_enabled, weekly=tuple(weekly), holidays=holidays,
        after_hours_kind=form.after_hours_kind, after_hours_queue_id=form.after_hours_queue_id,
        after_hours_user_id=form.after_hours_user_id, route_menu_id=form.route_menu_id,
        after_hours_menu_id=form.after_hours_menu_id, greeting_id=greeting.greeting_id if greeting else None,
        greeting_sound=greeting.sound if greeting else None, skip_menu_for_known=form.skip_menu_for_known)
    try:
        line.cleaned()
    except ValidationError as e:
        errors = {**e.errors, **errors}
    if errors:
        raise ValidationError(errors)
    return line


@require_role("admin")
async def lines_page(request: Request):
    async with connection(request) as conn:
        lines = await lines_q.list_lines(conn)
    return await render(request, "admin_lines.html", {"lines": lines, "languages": LANGUAGE_NAMES})


async def _form_page(request: Request, line_id: int | None, *, values: dict | None = None,
                     error: DomainError | None = None):
    async with connection(request) as conn:
        line = await lines_q.get_line(conn, line_id) if line_id is not None else None
        if line_id is not None and line is None:
            raise NotFound(_("no line %(id)s") % {"id": line_id})
        if values is None:
            values = _stored_values(line, await lines_q.schedule_of(conn, line["id"])) if line is not None else {
                "trunk": request.app.state.settings.trunk, "route_kind": "crm", "after_hours_kind": "hangup",
                "hours_0": "09:00-18:00", "hours_1": "09:00-18:00", "hours_2": "09:00-18:00",
                "hours_3": "09:00-18:00", "hours_4": "09:00-18:00"}
        queues = await queues_q.list_queues(conn)
        users = [u for u in await users_q.list_users(conn) if u["extension"] and not u["is_blocked"]]
        menus = await ivr_q.choices(conn)
        greetings = await greetings_q.choices(conn)
    field_errors = {k: v for k, v in error.errors.items() if k in _FIELDS} if isinstance(error, ValidationError) \
        else {}
    language = request_locale(request.scope).language
    weekdays = [(day, name[:1].upper() + name[1:]) for day, name in get_day_names("wide", locale=language).items()]
    return await render(request, "admin_line.html", {
        "line": line, "values": values, "queues": queues, "users": users, "route_kinds": ROUTE_KINDS,
        "after_hours_kinds": AFTER_HOURS_KINDS, "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "weekdays": sorted(weekdays), "zone": request.app.state.settings.timezone, "error": error,
        "field_errors": field_errors, "menus": menus, "greetings": greetings,
        "builtins": [(sound, builtin_label(sound)) for sound in BUILTIN_PROMPTS]},
        status_code=error.status if error else 200)


def _stored_values(line, schedule) -> dict:
    values = {key: line[key] for key in ("name", "trunk", "did", "route_kind", "route_queue_id", "route_user_id",
                                         "hours_enabled", "after_hours_kind", "after_hours_queue_id",
                                         "after_hours_user_id", "route_menu_id", "after_hours_menu_id",
                                         "skip_menu_for_known")}
    values["language"] = line["language"] or ""
    greeting = prompt_of(line["greeting_id"], line["greeting_name"], line["greeting_file"], line["greeting_sound"])
    values["greeting"] = greeting.choice if greeting is not None else ""
    return {**values, **lines_q.schedule_form_values(schedule)}


@require_role("admin")
async def line_new(request: Request):
    return await _form_page(request, None)


@require_role("admin")
async def line_edit(request: Request):
    return await _form_page(request, request.path_params["id"])


@require_role("admin")
async def line_save(request: Request):
    line_id = request.path_params.get("id")
    raw = await request.form()
    try:
        line = line_input(parse(LineForm, raw))
        async with connection(request) as conn:
            await lines_q.save_line(conn, request.user["id"], line_id, line)
    except DomainError as e:
        values: dict[str, object] = {k: v for k, v in raw.items()}
        values["hours_enabled"] = raw.get("hours_enabled") in ("on", "1", "true", "yes")
        values["skip_menu_for_known"] = raw.get("skip_menu_for_known") in ("on", "1", "true", "yes")
        return await _form_page(request, line_id, values=values, error=e)
    return RedirectResponse(path_for(request, "lines.lines_page"), status_code=303)


@require_role("admin")
async def line_delete(request: Request):
    async with connection(request) as conn:
        await lines_q.delete_line(conn, request.user["id"], request.path_params["id"])
    return RedirectResponse(path_for(request, "lines.lines_page"), status_code=303)


routes = [
    Route("/admin/lines", lines_page, name="lines.lines_page", methods=["GET"]),
    Route("/admin/lines", line_save, name="lines.line_create", methods=["POST"]),
    Route("/admin/lines/new", line_new, name="lines.line_new", methods=["GET"]),
    Route("/admin/lines/{id:int}", line_edit, name="lines.line_edit", methods=["GET"]),
    Route("/admin/lines/{id:int}", line_save, name="lines.line_update", methods=["POST"]),
    Route("/admin/lines/{id:int}/delete", line_delete, name="lines.line_delete", methods=["POST"]),
]
