"""Admin page for the sites carrying the chat widget (issue 23): each site's key for its <script> tag, the
origins allowed to open the chat, the identity secret (and a new one on request), the anonymised-address
switch and who gets an offline message's task. Audited (crm/webchat/sites.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.errors import DomainError, NotFound, ValidationError
from crm.i18n import _
from crm.webchat import queries as q
from crm.webchat import sites
from web.admin_list import item_action, list_and_edit, redirect_to, save_form
from web.db import connection
from web.permissions import require_role
from web.public_paths import WIDGET_PATH
from web.schemas_chat import ChatSiteForm
from web.templating import render

_LIST = "chat_sites.sites_page"


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None):
    async with connection(request) as conn:
        rows = await q.sites(conn)
        current = await q.site(conn, editing) if editing else None
        users = await conn.fetch("SELECT id, full_name FROM users WHERE deleted_at IS NULL AND NOT is_blocked "
                                 "AND role <> 'customer' ORDER BY full_name")
        queues = await conn.fetch("SELECT id, name FROM queues WHERE deleted_at IS NULL ORDER BY name")
    if editing and current is None:
        raise NotFound(_("no chat site %(number)d") % {"number": editing})
    if typed is not None:
        values = typed
    elif current is not None:
        values = {**dict(current), "allowed_origins": "\n".join(current["allowed_origins"])}
    else:
        values = {"enabled": True}
    base = str(request.base_url).rstrip("/")
    return await render(request, "admin_chat_sites.html", {
        "sites": rows, "current": current, "values": values, "error": error, "users": users, "queues": queues,
        "field_errors": error.errors if isinstance(error, ValidationError) else {},
        "widget_url": base + WIDGET_PATH}, status_code=error.status if error else 200)


sites_page, site_edit = list_and_edit(_page)


async def _save(conn, admin_id: int, site_id: int | None, form: ChatSiteForm) -> None:
    await sites.save(conn, admin_id, site_id, sites.SiteInput(
        name=form.name, origins_text=form.allowed_origins, anonymize_ip=form.anonymize_ip, enabled=form.enabled,
        offline_user_id=form.offline_user_id, offline_queue_id=form.offline_queue_id))


def _typed(raw) -> dict:
    return {k: str(raw.get(k, "")) for k in ChatSiteForm.model_fields} | {
        "anonymize_ip": bool(raw.get("anonymize_ip")), "enabled": bool(raw.get("enabled"))}


@require_role("admin")
async def site_save(request: Request):
    return await save_form(request, ChatSiteForm, _save, _page, done=redirect_to(_LIST), typed=_typed)


async def _new_secret(conn, admin_id: int, site_id: int, _form) -> None:
    await sites.new_secret(conn, admin_id, site_id)


site_secret = item_action(_page, _LIST, _new_secret)

routes = [
    Route("/admin/chat-sites", sites_page, name="chat_sites.sites_page", methods=["GET"]),
    Route("/admin/chat-sites", site_save, name="chat_sites.site_create", methods=["POST"]),
    Route("/admin/chat-sites/{id:int}", site_edit, name="chat_sites.site_edit", methods=["GET"]),
    Route("/admin/chat-sites/{id:int}", site_save, name="chat_sites.site_save", methods=["POST"]),
    Route("/admin/chat-sites/{id:int}/secret", site_secret, name="chat_sites.site_secret", methods=["POST"]),
]
