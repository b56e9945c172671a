"""The admin's audit viewer (issue 17, G5): who changed what, when, from which address, each
field's old and new value; filters, pages, the same rows as an Excel file.

Admins only, supervisors too are refused: the log shows every change to everything - users,
roles, the rules, the recording policy, failed logins with the logins typed and the addresses
they came from - which is the admin's to oversee; a supervisor sees the changes to a card on the
card itself.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route

from crm import audit
from crm.audit import queries as audit_q
from crm.audit.changes import AUDIT_ACTION, AUDIT_ENTITY, action_text, changes_of, entity_text, value_text
from crm.errors import ValidationError
from crm.export.xlsx import BATCH, Column, write_xlsx
from crm.i18n import N_
from crm.i18n import gettext as _
from crm.roles import ADMIN
from crm.users import queries as users_q
from web.db import connection
from web.paging import Page
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import PageQuery, Short
from web.urls import path_for
from web.validation import OptionalDate, OptionalId
from web.validation import query as parse_query
from web.views.export import _removed_on_failure, _response, _translated, _zone

# The page each kind of entity has, by its route's name; those without one are not linked.
PAGES = {
    "counterparty": "counterparty_cards.card", "task": "tasks.task_card", "user": "admin.user_edit",
    "queue": "queues.queue_edit", "line": "lines.line_edit", "ivr_menu": "ivr.menu_edit",
    "dial_rule": "dial_rules.rule_edit", "call_rule": "call_rules.rule_edit",
    "call": "call_page.call_page", "import": "imports.job_page",
    "shop_source": "shop_sources.edit", "shop_order": "shop_orders.order",  # issue 24
}


class AuditListQuery(PageQuery):
    start: OptionalDate = Field(None, alias="from")
    end: OptionalDate = Field(None, alias="to")
    user: Short = ""  # a user's id, or "system"
    entity: Short = ""
    id: OptionalId = None
    action: Short = ""
    address: Short = ""


def audit_query(request: Request) -> audit_q.AuditQuery:
    params = parse_query(request, AuditListQuery)
    page = Page.from_request(request)
    errors = {}
    user_id: int | None = None
    if params.user == "system":
        user_id = 0
    elif params.user:
        if not (params.user.isascii() and params.user.isdigit() and len(params.user) <= 18):
            errors["user"] = _("choose a user from the list")
        else:
            user_id = int(params.user)
    network = None
    if params.address:
        try:
            network = ipaddress.ip_network(params.address, strict=False)
        except ValueError:
            errors["address"] = _("an address is an IPv4 or IPv6 address or network, such as 203.0.113.0/24")
    if params.start and params.end and params.end < params.start:
        errors["to"] = _("the period ends before it starts")
    if errors:
        raise ValidationError(errors)
    return audit_q.AuditQuery(start=params.start, end=params.end, user_id=user_id, entity=params.entity or None,
                              entity_id=params.id, action=params.action or None, address=network,
                              page=page.number, size=page.size, timezone=request.app.state.settings.timezone)


def _link(request: Request, entity: str, entity_id: int | None) -> str | None:
    name = PAGES.get(entity)
    return path_for(request, name, id=entity_id) if name and entity_id else None


def _user_text(row) -> str:
    if row["user_name"]:
        return row["user_name"]
    return _("user %(id)s") % {"id": row["user_id"]} if row["user_id"] else _("system")


def shown(request: Request, row) -> dict[str, Any]:
    """One row as the page and the JSON give it."""
    return {
        "id": row["id"], "at": row["at"], "user_id": row["user_id"], "user": _user_text(row),
        "address": row["address"], "entity": row["entity"], "entity_text": entity_text(row["entity"]),
        "entity_id": row["entity_id"], "url": _link(request, row["entity"], row["entity_id"]),
        "action": row["action"], "action_text": action_text(row["action"]),
        "changes": [dataclasses.asdict(c) for c in changes_of(row["action"], row["changes"], row["canonical"],
                                                                 row["entity"])],
    }


@require_role(ADMIN)
async def audit_page(request: Request):
    """/admin/audit (HTML; JSON with Accept: application/json or /admin/audit.json)."""
    query = audit_query(request)
    async with connection(request) as conn:
        total, capped = await audit_q.count(conn, query)
        rows = [shown(request, r) for r in await audit_q.rows(conn, query)]
        users = await users_q.list_users(conn, include_deleted=True)
        entities = sorted(set(await audit_q.entities(conn)) | set(AUDIT_ENTITY), key=entity_text)
    page = Page(number=query.page, size=query.size, total=total)

    def data():
        return {"total": total, "total_capped": capped, "page": page.number, "page_size": page.size,
                "items": [{**r, "changes": [{k: c[k] for k in ("field", "title", "old", "new")}
                                            for c in r["changes"]]} for r in rows]}

    return await html_or_json(request, "admin_audit.html", lambda: {
        "rows": rows, "page": page, "capped": capped, "query": query, "users": users, "entities": entities,
        "actions": sorted(AUDIT_ACTION, key=action_text), "params": request.query_params,
        "entity_text": entity_text, "action_text": action_text,
    }, data)


COLUMNS = [
    Column(N_("Time"), "at", "datetime", 17), Column(N_("User"), "user", width=22),
    Column(N_("Address"), "address", width=16), Column(N_("Object"), "entity_text", width=14),
    Column(N_("No."), "entity_id", "int", 8), Column(N_("Action"), "action_text", width=20),
    Column(N_("Field"), "title", width=18), Column(N_("Old value"), "old", width=30),
    Column(N_("New value"), "new", width=30),
]


def _sheet_rows(request: Request, rows) -> list[dict]:
    """One sheet row per changed field (a row without fields gets one line of its own)."""
    out = []
    for row in rows:
        base = shown(request, row)
        for c in base["changes"] or [{"title": "", "old": None, "new": None, "pair": False}]:
            out.append({**base, "title": c["title"], "old": value_text(c["old"]) if c["pair"] else "",
                        "new": value_text(c["new"])})
    return out


@require_role(ADMIN)
async def audit_export(request: Request):
    """/admin/audit.xlsx: what the page's filters show, every page of it."""
    query = audit_query(request)
    async with request.app.state.pool.acquire() as conn:
        async def batches():
            async for rows in audit_q.batches(conn, query, BATCH):
                yield _sheet_rows(request, rows)

        path, count = await write_xlsx(_("Audit"), _translated(COLUMNS), batches(), tz=_zone(request))
        with _removed_on_failure(path):
            await audit.record(conn, request.user["id"], "export", None, "audit list",
                               {"query": [None, request.url.query], "rows": [None, count]})
    return _response(path, count, "audit")


async def card_history(request: Request, conn, counterparty_id: int, limit: int = 20) -> list[dict]:
    """A card's own changes with their diffs (the card page's Changes)."""
    return [shown(request, r) for r in await audit.history(conn, "counterparty", counterparty_id, limit=limit)]


routes = [
    Route("/admin/audit", audit_page, name="audit.audit_page", methods=["GET"]),
    Route("/admin/audit.json", audit_page, name="audit.audit_json", methods=["GET"]),
    Route("/admin/audit.xlsx", audit_export, name="audit.audit_export", methods=["GET"]),
]
