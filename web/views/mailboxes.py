"""Admin page for the IMAP mailboxes `pbxcrm mail` reads (issue 23): list (with the poller's last word:
last_error, last_polled_at), add, edit, switch off and on. The password is never shown back: blank
keeps the stored one. Rules and SQL in crm/mail/inbound/admin.py; every change audited."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.errors import DomainError, NotFound, ValidationError
from crm.i18n import gettext as _
from crm.mail.inbound import admin as mail_admin
from web.admin_list import item_action, list_and_edit, redirect_to, save_form
from web.db import connection
from web.permissions import require_role
from web.schemas_mailboxes import MailboxEnabledForm, MailboxForm
from web.templating import render

_LIST = "mailboxes.mailboxes_page"


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None):
    async with connection(request) as conn:
        rows = await mail_admin.mailboxes(conn)
        current = await mail_admin.mailbox(conn, editing) if editing else None
    if editing and current is None and error is None:
        error = NotFound(_("no such mailbox"))
    if typed is not None:
        values = typed
    elif current is not None:
        values = {**current, "folders": ", ".join(current["folders"])}
    else:
        values = {"imap_security": "ssl", "folders": "INBOX", "enabled": True}
    return await render(request, "admin_mailboxes.html", {
        "mailboxes": rows, "current": current, "values": values, "error": error,
        "field_errors": error.errors if isinstance(error, ValidationError) else {},
        "securities": mail_admin.SECURITY}, status_code=error.status if error else 200)


mailboxes_page, mailbox_edit = list_and_edit(_page)


async def _save(conn, admin_id: int, mailbox_id: int | None, form: MailboxForm) -> None:
    await mail_admin.save(conn, admin_id, mailbox_id, form.model_dump(exclude={"imap_password"}), form.imap_password)


def _typed(raw) -> dict:
    """What the admin typed, the password left out (never sent back to the page)."""
    return {k: str(raw.get(k, "")) for k in MailboxForm.model_fields if k != "imap_password"} | {
        "enabled": bool(raw.get("enabled"))}


@require_role("admin")
async def mailbox_save(request: Request):
    return await save_form(request, MailboxForm, _save, _page, done=redirect_to(_LIST), typed=_typed)


mailbox_enabled = item_action(_page, _LIST, lambda conn, admin_id, mailbox_id, form:
                              mail_admin.set_enabled(conn, admin_id, mailbox_id, form.enabled), MailboxEnabledForm)

routes = [
    Route("/admin/mailboxes", mailboxes_page, name="mailboxes.mailboxes_page", methods=["GET"]),
    Route("/admin/mailboxes", mailbox_save, name="mailboxes.mailbox_create", methods=["POST"]),
    Route("/admin/mailboxes/{id:int}", mailbox_edit, name="mailboxes.mailbox_edit", methods=["GET"]),
    Route("/admin/mailboxes/{id:int}", mailbox_save, name="mailboxes.mailbox_update", methods=["POST"]),
    Route("/admin/mailboxes/{id:int}/enabled", mailbox_enabled, name="mailboxes.mailbox_enabled", methods=["POST"]),
]
