"""Admin pages: users and roles, CRM settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm import appsettings, sections
from crm.dialing import queries as dialing_q
from crm.dialing.model import FollowMeInput
from crm.dialing.technology import clean_dial
from crm.errors import DomainError, NotFound, ValidationError
from crm.i18n import LANGUAGE_NAMES, LANGUAGES, _
from crm.orders import queries as orders_q
from crm.recordings import queries as rec_q
from crm.recordings.policy import RecordingPolicy
from crm.retention import policy as retention
from crm.retention import queries as retention_q
from crm.users import ROLES
from crm.users import queries as users_q
from crm.users.accounts import (
    NewUser,
    UserChanges,
    check_password_for,
    create_user,
    delete_user,
    set_password,
    update_user,
)
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import reads_json, wants_json
from web.schemas import (
    CentreLanguageForm,
    DialPrefixForm,
    ExportRolesForm,
    RecordingForm,
    RetentionForm,
    SectionNamesForm,
    UserChangeForm,
    UserForm,
    UserIn,
)
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body


async def _users_page(request: Request, *, error: DomainError | None = None, values: dict | None = None):
    async with connection(request) as conn:
        users = await users_q.list_users(conn, include_deleted=True)
        customers = await orders_q.customers_to_choose(conn)
    return await render(request, "admin_users.html", {"users": users, "roles": ROLES, "error": error,
                                                      "values": values or {}, "customers": customers},
                        status_code=error.status if error else 200)


@require_role("admin")
async def users_list(request: Request):
    """The users page, or (JSON, also GET /api/users) `{"items": [...]}` with deleted users."""
    if wants_json(request):
        async with connection(request) as conn:
            users = await users_q.list_users(conn, include_deleted=True)
        return JSONResponse({"items": jsonable(users)})
    return await _users_page(request)


def _new_user(body: UserIn) -> NewUser:
    return NewUser(login=body.login, full_name=body.full_name, password=body.password, role=body.role,
                   extension=body.extension, email=body.email, customer_id=body.customer_id)


@require_role("admin")
async def users_create(request: Request):
    """A new user from JSON (strict; the 201 answer is the user) or from the admin's form
    (an error shows the form again with what was typed; success goes back to the list)."""
    if reads_json(request):
        body = await json_body(request, UserIn)
        async with connection(request) as conn:
            user = await create_user(conn, _new_user(body), by=request.user["id"])
        return JSONResponse(jsonable(user), status_code=201)
    raw = await request.form()
    try:
        form, _ = await form_body(request, UserForm)
        async with connection(request) as conn:
            user = await create_user(conn, _new_user(form), by=request.user["id"])
    except DomainError as e:
        if wants_json(request):
            raise
        return await _users_page(request, error=e, values=dict(raw))
    if wants_json(request):
        return JSONResponse(jsonable(user), status_code=201)
    return RedirectResponse(path_for(request, "admin.users_list"), status_code=303)


async def _user_page(request: Request, user_id: int, *, error: DomainError | None = None):
    async with connection(request) as conn:
        target = await users_q.user_by_id(conn, user_id)
        customers = await orders_q.customers_to_choose(conn)
    if target is None:
        raise NotFound(_("no user %(id)d") % {"id": user_id})
    return await render(request, "admin_user.html", {"target": target, "roles": ROLES, "error": error,
                                                     "customers": customers},
                        status_code=error.status if error else 200)


@require_role("admin")
async def user_edit(request: Request):
    return await _user_page(request, request.path_params["id"])


@require_role("admin")
async def user_update(request: Request):
    user_id = request.path_params["id"]
    admin_id = request.user["id"]
    try:
        form, _raw = await form_body(request, UserChangeForm)
        changes = UserChanges(full_name=form.full_name, role=form.role, extension=form.extension,
                              email=form.email, is_blocked=form.is_blocked, customer_id=form.customer_id)
        # Where the phone rings and follow me (issue 15): checked before anything is saved.
        dial = clean_dial(form.dial)
        if dial and not changes.extension:
            raise ValidationError({"dial": _("a dial string says where the user's extension rings: "
                                             "give the extension too")})
        mobile, follow_me_seconds = FollowMeInput(form.mobile, form.follow_me_seconds).cleaned(
            request.app.state.settings.default_region)
        async with connection(request) as conn:
            target = await users_q.user_by_id(conn, user_id)
            if form.password and target is not None:
                # Checked before anything is saved, so a refused password leaves the profile as it was.
                check_password_for(target["login"], changes.full_name, form.password)
            await update_user(conn, admin_id, user_id, changes)
            await dialing_q.set_user_phone(conn, admin_id, user_id, dial=dial, mobile=mobile,
                                           follow_me_seconds=follow_me_seconds)
            if form.password and target is not None:
                # A reset ends the user's sessions: whoever knew the old password is logged out.
                await set_password(conn, target["login"], form.password, by=admin_id,
                                   force_change=form.force_password_change)
    except DomainError as e:
        return await _user_page(request, user_id, error=e)
    return RedirectResponse(path_for(request, "admin.users_list"), status_code=303)


@require_role("admin")
async def user_delete(request: Request):
    try:
        async with connection(request) as conn:
            await delete_user(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _users_page(request, error=e)
    return RedirectResponse(path_for(request, "admin.users_list"), status_code=303)


def section_field(key: str, language: str, part: str) -> str:
    """The form field of a section's name ("name"), word for one card ("one") or its gender ("gender")
    in a language: section_clients, section_clients_one, section_clients_ru, section_clients_gender_ru."""
    field = f"section_{key}" if part == "name" else f"section_{key}_{part}"
    return field if language == "en" else f"{field}_{language}"


def _section_forms(stored: dict, typed: dict | None) -> dict:
    """The Section names form: per section and language, its fields and what they show
    (what the admin typed when the form comes back with an error, else what is in force)."""
    values = sections.form_values(stored)
    forms: dict = {}
    for key in sections.SECTIONS:
        forms[key] = {}
        for language in LANGUAGES:
            parts = ("name", "one", "gender") if language == "ru" else ("name", "one")
            fields = {part: section_field(key, language, part) for part in parts}
            current = values[key][language]
            shown = {part: (typed or {}).get(field, getattr(current, part)) for part, field in fields.items()}
            forms[key][language] = {"language": LANGUAGE_NAMES[language], "fields": fields, "values": shown}
    return forms


_RETENTION_FIELDS = ("recordings_months", "recordings_action", "calls_months", "calls_action")


def _retention_form(stored: retention.RetentionPolicy, typed: dict | None) -> dict:
    """The Retention form's values: what the admin typed when it comes back with an error, else what is in force."""
    if typed is not None and any(k in typed for k in _RETENTION_FIELDS):
        return {k: typed.get(k, "") for k in _RETENTION_FIELDS}
    return {k: "" if v is None else v for k, v in stored.stored().items()}


async def _settings_page(request: Request, error: DomainError | None = None, typed: dict | None = None):
    async with connection(request) as conn:
        policy = await rec_q.load_policy(conn)
        users = await users_q.list_users(conn)
        stored = await sections.stored(conn)
        kept = await retention_q.load_policy(conn)
        last_run = retention.last_run_summary(await retention_q.last_run(conn))
    field_errors = {}
    if isinstance(error, ValidationError):  # the forms' messages go next to their fields
        field_errors = {k: v for k, v in error.errors.items()
                        if k.startswith("section_") or k == "dial_prefix" or k in _RETENTION_FIELDS}
    return await render(request, "admin_settings.html", {
        "recording": policy, "users": users, "error": error, "roles": ROLES,
        "section_forms": _section_forms(stored, typed), "genders": sections.GENDERS, "field_errors": field_errors,
        "language_names": LANGUAGE_NAMES, "retention": _retention_form(kept, typed),
        "retention_actions": retention.ACTIONS, "archive_dir": request.app.state.settings.archive_dir,
        "retention_last_run": last_run},
        status_code=error.status if error else 200)


@require_role("admin")
async def retention_update(request: Request):
    """How long recordings and call rows are kept, and what happens to older ones (issue 25)."""
    raw = await request.form()
    try:
        form, _fields = await form_body(request, RetentionForm)
        kept = retention.validated(form.recordings_months, form.recordings_action, form.calls_months,
                                   form.calls_action)
        async with connection(request) as conn:
            await retention_q.save_policy(conn, request.user["id"], kept)
    except DomainError as e:
        return await _settings_page(request, e, typed={k: str(v) for k, v in raw.items()})
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


@require_role("admin")
async def export_update(request: Request):
    form, _ = await form_body(request, ExportRolesForm)
    async with connection(request) as conn:
        await appsettings.set_export_roles(conn, request.user["id"], list(form.roles))
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


@require_role("admin")
async def language_update(request: Request):
    """The call centre's language: the login page's, and every user's who chose none."""
    try:
        form, _fields = await form_body(request, CentreLanguageForm)
        async with connection(request) as conn:
            await appsettings.set_centre_language(conn, request.user["id"], form.language or None)
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


@require_role("admin")
async def dial_prefix_update(request: Request):
    """What click-to-call dials before each number (H6): "9" where an outside line takes one."""
    try:
        form, _fields = await form_body(request, DialPrefixForm)
        async with connection(request) as conn:
            await appsettings.set_dial_prefix(conn, request.user["id"], form.dial_prefix)
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


@require_role("admin")
async def settings_page(request: Request):
    return await _settings_page(request)


@require_role("admin")
async def recording_update(request: Request):
    try:
        form, _ = await form_body(request, RecordingForm)
        policy = RecordingPolicy(mode=form.mode, excluded_user_ids=frozenset(form.excluded))
        async with connection(request) as conn:
            await rec_q.save_policy(conn, policy, request.user["id"])
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


@require_role("admin")
async def settings_update(request: Request):
    """The Section names form: each section's names per language (crm/sections.py)."""
    raw = await request.form()
    try:
        form, _form = await form_body(request, SectionNamesForm)

        def typed(key: str, language: str) -> sections.Names:
            return sections.Names(**{part: getattr(form, section_field(key, language, part), "")
                                     for part in ("name", "one", "gender")})

        names = {key: {language: typed(key, language) for language in LANGUAGES} for key in sections.SECTIONS}
        async with connection(request) as conn:
            await sections.save(conn, request.user["id"], names)
    except ValidationError as e:
        # crm/sections.py names a field "clients.ru.one": the form's is section_clients_one_ru.
        errors = {}
        for key, message in e.errors.items():
            section, _dot, rest = key.partition(".")
            language, _dot, part = rest.partition(".")
            errors[section_field(section, language, part) if part else key] = message
        return await _settings_page(request, ValidationError(errors), typed={k: str(v) for k, v in raw.items()})
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse(path_for(request, "admin.settings_page"), status_code=303)


routes = [
    Route("/admin/users", users_list, name="admin.users_list", methods=["GET"]),
    Route("/admin/users", users_create, name="admin.users_create", methods=["POST"]),
    Route("/admin/users/{id:int}", user_edit, name="admin.user_edit", methods=["GET"]),
    Route("/admin/users/{id:int}", user_update, name="admin.user_update", methods=["POST"]),
    Route("/admin/users/{id:int}/delete", user_delete, name="admin.user_delete", methods=["POST"]),
    Route("/admin/settings", settings_page, name="admin.settings_page", methods=["GET"]),
    Route("/admin/settings", settings_update, name="admin.settings_update", methods=["POST"]),
    Route("/admin/settings/recording", recording_update, name="admin.recording_update", methods=["POST"]),
    Route("/admin/settings/export", export_update, name="admin.export_update", methods=["POST"]),
    Route("/admin/settings/language", language_update, name="admin.language_update", methods=["POST"]),
    Route("/admin/settings/dialing", dial_prefix_update, name="admin.dial_prefix_update", methods=["POST"]),
    Route("/admin/settings/retention", retention_update, name="admin.retention_update", methods=["POST"]),
]
