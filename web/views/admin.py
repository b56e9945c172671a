"""Admin pages: users and roles, CRM settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm import appsettings
from crm.recordings import queries as rec_q
from crm.recordings.policy import MODES, RecordingPolicy
from crm.errors import DomainError, NotFound
from crm.users import ROLES
from crm.users import queries as users_q
from crm.users.accounts import (NewUser, UserChanges, check_password_for, create_user, delete_user, set_password,
                                update_user)
from web import forms
from web.permissions import require_role
from web.templating import render


async def _users_page(request: Request, *, error: DomainError | None = None, values: dict | None = None):
    async with request.app.state.pool.acquire() as conn:
        users = await users_q.list_users(conn, include_deleted=True)
    return await render(request, "admin_users.html", {"users": users, "roles": ROLES, "error": error,
                                                      "values": values or {}},
                        status_code=error.status if error else 200)


@require_role("admin")
async def users_list(request: Request):
    return await _users_page(request)


@require_role("admin")
async def users_create(request: Request):
    form = await request.form()
    new = NewUser(login=forms.text(form, "login"), full_name=forms.text(form, "full_name"),
                  password=str(form.get("password", "")), role=forms.text(form, "role"),
                  extension=forms.optional_text(form, "extension"), email=forms.optional_text(form, "email"))
    try:
        async with request.app.state.pool.acquire() as conn:
            await create_user(conn, new)
    except DomainError as e:
        return await _users_page(request, error=e, values=dict(form))
    return RedirectResponse("/admin/users", status_code=303)


async def _user_page(request: Request, user_id: int, *, error: DomainError | None = None):
    async with request.app.state.pool.acquire() as conn:
        target = await users_q.user_by_id(conn, user_id)
    if target is None:
        raise NotFound(f"no user {user_id}")
    return await render(request, "admin_user.html", {"target": target, "roles": ROLES, "error": error},
                        status_code=error.status if error else 200)


@require_role("admin")
async def user_edit(request: Request):
    return await _user_page(request, request.path_params["id"])


@require_role("admin")
async def user_update(request: Request):
    user_id = request.path_params["id"]
    form = await request.form()
    changes = UserChanges(full_name=forms.text(form, "full_name"), role=forms.text(form, "role"),
                          extension=forms.optional_text(form, "extension"),
                          email=forms.optional_text(form, "email"), is_blocked=forms.checkbox(form, "is_blocked"))
    password = str(form.get("password", ""))
    admin_id = request.scope["user"]["id"]
    try:
        async with request.app.state.pool.acquire() as conn:
            target = await users_q.user_by_id(conn, user_id)
            if password and target is not None:
                # Checked before anything is saved, so a refused password leaves the profile as it was.
                check_password_for(target["login"], changes.full_name, password)
            await update_user(conn, admin_id, user_id, changes)
            if password:
                # A reset ends the user's sessions: whoever knew the old password is logged out.
                await set_password(conn, target["login"], password, by=admin_id)
    except DomainError as e:
        return await _user_page(request, user_id, error=e)
    return RedirectResponse("/admin/users", status_code=303)


@require_role("admin")
async def user_delete(request: Request):
    try:
        async with request.app.state.pool.acquire() as conn:
            await delete_user(conn, request.scope["user"]["id"], request.path_params["id"])
    except DomainError as e:
        return await _users_page(request, error=e)
    return RedirectResponse("/admin/users", status_code=303)


async def _settings_page(request: Request, error: DomainError | None = None):
    async with request.app.state.pool.acquire() as conn:
        policy = await rec_q.load_policy(conn)
        users = await users_q.list_users(conn)
    return await render(request, "admin_settings.html", {
        "recording": policy, "modes": MODES, "users": users, "error": error, "roles": ROLES},
        status_code=error.status if error else 200)


@require_role("admin")
async def export_update(request: Request):
    form = await request.form()
    async with request.app.state.pool.acquire() as conn:
        await appsettings.set_export_roles(conn, request.scope["user"]["id"], list(form.getlist("roles")))
    return RedirectResponse("/admin/settings", status_code=303)


@require_role("admin")
async def settings_page(request: Request):
    return await _settings_page(request)


@require_role("admin")
async def recording_update(request: Request):
    form = await request.form()
    policy = RecordingPolicy(mode=forms.text(form, "mode"), excluded_user_ids=frozenset(
        int(v) for v in form.getlist("excluded") if str(v).isdigit()))
    try:
        async with request.app.state.pool.acquire() as conn:
            await rec_q.save_policy(conn, policy, request.scope["user"]["id"])
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse("/admin/settings", status_code=303)


@require_role("admin")
async def settings_update(request: Request):
    form = await request.form()
    try:
        async with request.app.state.pool.acquire() as conn:
            await appsettings.set_section_names(conn, request.scope["user"]["id"],
                                                forms.text(form, "section_clients"),
                                                forms.text(form, "section_companies"))
    except DomainError as e:
        return await _settings_page(request, e)
    return RedirectResponse("/admin/settings", status_code=303)


routes = [
    Route("/admin/users", users_list, methods=["GET"]),
    Route("/admin/users", users_create, methods=["POST"]),
    Route("/admin/users/{id:int}", user_edit, methods=["GET"]),
    Route("/admin/users/{id:int}", user_update, methods=["POST"]),
    Route("/admin/users/{id:int}/delete", user_delete, methods=["POST"]),
    Route("/admin/settings", settings_page, methods=["GET"]),
    Route("/admin/settings", settings_update, methods=["POST"]),
    Route("/admin/settings/recording", recording_update, methods=["POST"]),
    Route("/admin/settings/export", export_update, methods=["POST"]),
]
