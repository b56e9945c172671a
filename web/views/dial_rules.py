"""Admin page for outbound dial rules (issue 15): list, add, edit, delete, and try a number."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.dialing import queries as dialing_q
from crm.dialing.rules import RuleInput, dialling
from crm.errors import DomainError, ValidationError
from web.admin_list import list_and_edit, redirect_to, save_form
from web.db import connection
from web.permissions import require_role
from web.schemas_telephony import DialRuleForm, DialRuleTryQuery
from web.templating import render
from web.urls import path_for
from web.validation import query


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None):
    settings = request.app.state.settings
    async with connection(request) as conn:
        rules = await dialing_q.list_rules(conn)
        current = await dialing_q.rule_by_id(conn, editing) if editing else None
    tried = None
    # As a phone would dial it: "+7 (495) 123-45-67" is +74951234567.
    number = re.sub(r"[^0-9+*#]", "", query(request, DialRuleTryQuery).number)
    if number:
        tried = dialling(number, rules, default_trunk=settings.trunk, region=settings.default_region)
    values = typed if typed is not None else {
        "position": current.position if current else (max((r.position for r in rules), default=0) + 10),
        "pattern": current.pattern if current else "", "strip": current.strip if current else 0,
        "prepend": current.prepend if current else "", "trunk": (current.trunk or "") if current else "",
        "note": current.note if current else ""}
    field_errors = error.errors if isinstance(error, ValidationError) else {}
    return await render(request, "admin_dial_rules.html", {
        "rules": rules, "current": current, "values": values, "error": error, "field_errors": field_errors,
        "default_trunk": settings.trunk, "number": number, "tried": tried},
        status_code=error.status if error else 200)


rules_page, rule_edit = list_and_edit(_page)


async def _save(conn, admin_id: int, rule_id: int | None, form: DialRuleForm) -> None:
    await dialing_q.save_rule(conn, admin_id, rule_id, RuleInput(
        pattern=form.pattern, strip=form.strip, prepend=form.prepend, trunk=form.trunk,
        position=form.position, note=form.note))


@require_role("admin")
async def rule_save(request: Request):
    return await save_form(request, DialRuleForm, _save, _page, done=redirect_to("dial_rules.rules_page"))


@require_role("admin")
async def rule_delete(request: Request):
    try:
        async with connection(request) as conn:
            await dialing_q.delete_rule(conn, request.user["id"], request.path_params["id"])
    except DomainError as e:
        return await _page(request, error=e)
    return RedirectResponse(path_for(request, "dial_rules.rules_page"), status_code=303)


routes = [
    Route("/admin/dial-rules", rules_page, name="dial_rules.rules_page", methods=["GET"]),
    Route("/admin/dial-rules", rule_save, name="dial_rules.rule_create", methods=["POST"]),
    Route("/admin/dial-rules/{id:int}", rule_edit, name="dial_rules.rule_edit", methods=["GET"]),
    Route("/admin/dial-rules/{id:int}", rule_save, name="dial_rules.rule_update", methods=["POST"]),
    Route("/admin/dial-rules/{id:int}/delete", rule_delete, name="dial_rules.rule_delete", methods=["POST"]),
]
