"""Admin pages for IVR menus (issue 15): the list, and a menu's form - its prompt, each key's
route, the wait for a key and the timeout route, replays after a wrong key, and whether a
known client skips it. A loop, a deleted target or a missing greeting is refused when saved."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, NotFound, ValidationError
from crm.greetings import queries as greetings_q
from crm.greetings.prompts import BUILTIN_PROMPTS, builtin_label
from crm.i18n import gettext as _
from crm.ivr import queries as ivr_q
from crm.ivr.model import KEYS, MenuInput, key_field
from crm.queues import queries as queues_q
from crm.users import queries as users_q
from web.db import connection
from web.permissions import require_role
from web.schemas_telephony import MenuForm
from web.templating import render
from web.urls import path_for
from web.validation import parse

_FIELDS = ("name", "prompt", "timeout_seconds", "replays", "timeout_route", "skip_known", "keys",
           *(key_field(key) for key in KEYS))


def menu_input(form: MenuForm) -> MenuInput:
    return MenuInput(name=form.name, prompt=form.prompt,
                     timeout_seconds=5 if form.timeout_seconds is None else form.timeout_seconds,
                     replays=2 if form.replays is None else form.replays, timeout_route=form.timeout_route,
                     skip_known=form.skip_known, keys={key: getattr(form, key_field(key)) for key in KEYS})


@require_role("admin")
async def menus_page(request: Request):
    async with connection(request) as conn:
        menus = await ivr_q.list_menus(conn)
    return await render(request, "admin_ivr.html", {"menus": menus})


async def _form_page(request: Request, menu_id: int | None, *, values: dict | None = None,
                     error: DomainError | None = None):
    async with connection(request) as conn:
        menu = await ivr_q.get_menu(conn, menu_id) if menu_id is not None else None
        if menu_id is not None and menu is None:
            raise NotFound(_("no menu %(id)s") % {"id": menu_id})
        queues = await queues_q.list_queues(conn)
        users = [u for u in await users_q.list_users(conn) if u["extension"] and not u["is_blocked"]]
        menus = [m for m in await ivr_q.choices(conn) if m["id"] != menu_id]
        greetings = await greetings_q.choices(conn)
    if values is None:
        values = _stored_values(menu) if menu is not None else {
            "timeout_seconds": 5, "replays": 2, "timeout_route": "crm", "prompt": "sound:basic-pbx-ivr-main"}
    field_errors = {k: v for k, v in error.errors.items() if k in _FIELDS} if isinstance(error, ValidationError) \
        else {}
    # A stored route whose target is gone stays in its select, marked, until the admin changes it.
    broken = {} if menu is None else {key_field(key): r for key, r in menu["keys"] if r["broken"]}
    if menu is not None and menu["timeout"]["broken"]:
        broken["timeout_route"] = menu["timeout"]
    return await render(request, "admin_ivr_menu.html", {
        "menu": menu, "values": values, "queues": queues, "users": users, "menus": menus, "greetings": greetings,
        "builtins": [(sound, builtin_label(sound)) for sound in BUILTIN_PROMPTS],
        "keys": [(key, key_field(key)) for key in KEYS], "broken": broken, "error": error,
        "field_errors": field_errors}, status_code=error.status if error else 200)


def _stored_values(menu: dict) -> dict:
    values = {"name": menu["name"], "prompt": menu["prompt"].choice, "timeout_seconds": menu["timeout_seconds"],
              "replays": menu["replays"], "timeout_route": menu["timeout"]["choice"], "skip_known": menu["skip_known"]}
    values.update({key_field(key): r["choice"] for key, r in menu["keys"]})
    return values


@require_role("admin")
async def menu_new(request: Request):
    return await _form_page(request, None)


@require_role("admin")
async def menu_edit(request: Request):
    return await _form_page(request, request.path_params["id"])


@require_role("admin")
async def menu_save(request: Request):
    menu_id = request.path_params.get("id")
    raw = await request.form()
    try:
        menu = menu_input(parse(MenuForm, raw))
        async with connection(request) as conn:
            await ivr_q.save_menu(conn, request.user["id"], menu_id, menu)
    except DomainError as e:
        values: dict[str, object] = {k: v for k, v in raw.items()}
        values["skip_known"] = raw.get("skip_known") in ("on", "1", "true", "yes")
        return await _form_page(request, menu_id, values=values, error=e)
    return RedirectResponse(path_for(request, "ivr.menus_page"), status_code=303)


@require_role("admin")
async def menu_delete(request: Request):
    try:
        async with connection(request) as conn:
            await ivr_q.delete_menu(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        async with connection(request) as conn:
            menus = await ivr_q.list_menus(conn)
        return await render(request, "admin_ivr.html", {"menus": menus, "error": e}, status_code=e.status)
    return RedirectResponse(path_for(request, "ivr.menus_page"), status_code=303)


routes = [
    Route("/admin/ivr", menus_page, name="ivr.menus_page", methods=["GET"]),
    Route("/admin/ivr", menu_save, name="ivr.menu_create", methods=["POST"]),
    Route("/admin/ivr/new", menu_new, name="ivr.menu_new", methods=["GET"]),
    Route("/admin/ivr/{id:int}", menu_edit, name="ivr.menu_edit", methods=["GET"]),
    Route("/admin/ivr/{id:int}", menu_save, name="ivr.menu_update", methods=["POST"]),
    Route("/admin/ivr/{id:int}/delete", menu_delete, name="ivr.menu_delete", methods=["POST"]),
]
