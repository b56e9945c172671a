"""Admin page for the call rules (issue 17, G2): who may see calls, listen to recordings and edit calls.
List, add, edit, delete, move up and down, restore the defaults; HTML forms (CSRF) or JSON. The rules
govern calls, not this page: it is the admins' whatever the rules say (and rules that would keep
admins from seeing or editing calls are refused: crm/calls/rule_queries.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from crm.calls import rule_queries
from crm.calls.rules import ACTIONS, DIRECTIONS, EFFECTS, TRISTATES, Rule, ordered
from crm.errors import DomainError, ValidationError
from crm.i18n import N_, gettext
from crm.i18n import gettext as _
from crm.labels import label
from crm.lines import queries as lines_q
from crm.queues import queries as queues_q
from crm.roles import ROLES
from web.admin_list import list_and_edit, save_form
from web.db import connection
from web.errors import domain_error_json
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import reads_json, wants_json
from web.schemas_telephony import CallRuleForm, CallRuleMoveForm
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body

ACTION_NAMES = {"see": N_("See the call"), "listen": N_("Listen to the recording"),
                "edit": N_("Edit comment and counterparty")}
EFFECT_NAMES = {"allow": N_("allow"), "deny": N_("deny")}
CONDITION_NAMES = {"took_part": N_("took part in the call"), "finished": N_("the call has finished"),
                   "responsible": N_("is the responsible manager of the call's counterparty"),
                   "owner": N_("was the responsible manager when the call happened"),
                   "card_deleted": N_("the counterparty's card is deleted")}
_TRI = {"": None, "yes": True, "no": False}


def _tri_text(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def rule_of(form: CallRuleForm) -> Rule:
    """The form's rule; a yes/no answer other than yes, no or blank is a field error."""
    errors = {name: _("choose yes, no or any") for name in TRISTATES if getattr(form, name) not in _TRI}
    if errors:
        raise ValidationError(errors)
    return Rule(action=form.action, effect=form.effect, roles=frozenset(form.roles),
                directions=frozenset(form.directions), line_ids=frozenset(form.line_ids),
                queue_ids=frozenset(form.queue_ids), position=form.position if form.position is not None else 5,
                note=form.note, took_part=_TRI[form.took_part], finished=_TRI[form.finished],
                responsible=_TRI[form.responsible], owner=_TRI[form.owner], card_deleted=_TRI[form.card_deleted])


def _values(rule: Rule | None) -> dict:
    if rule is None:
        return {"position": 5, "action": "see", "effect": "deny", "roles": [], "directions": [], "line_ids": [],
                "queue_ids": [], "note": "", **{name: "" for name in TRISTATES}}
    return {**rule_queries.fields(rule), **{name: _tri_text(getattr(rule, name)) for name in TRISTATES}}


def describe(rule: Rule, lines: dict, queues: dict) -> list[str]:
    """The rule's conditions in words, for the list."""
    out = []
    if rule.roles:
        out.append(_("roles: %(roles)s") % {"roles": ", ".join(label("role", r) for r in sorted(rule.roles))})
    for name in TRISTATES:
        value = getattr(rule, name)
        if value is not None:
            out.append((_("%(condition)s: yes") if value else _("%(condition)s: no"))
                       % {"condition": gettext(CONDITION_NAMES[name])})
    if rule.directions:
        out.append(_("types: %(types)s") % {
            "types": ", ".join(label("call_direction", d) for d in DIRECTIONS if d in rule.directions)})
    if rule.line_ids:
        out.append(_("lines: %(lines)s") % {"lines": ", ".join(lines.get(i, f"#{i}") for i in sorted(rule.line_ids))})
    if rule.queue_ids:
        out.append(_("queues: %(queues)s") % {
            "queues": ", ".join(queues.get(i, f"#{i}") for i in sorted(rule.queue_ids))})
    return out or [_("every call")]


def _json(rule: Rule) -> dict:
    return {"id": rule.id, **rule_queries.fields(rule)}


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None):
    async with connection(request) as conn:
        rules = await rule_queries.load(conn)
        current = await rule_queries.rule_by_id(conn, editing) if editing else None
        lines = {r["id"]: r["name"] for r in await lines_q.list_lines(conn)}
        queues = {q.id: q.name for q in await queues_q.list_queues(conn)}
    if wants_json(request) and error is None:
        return JSONResponse(jsonable({"evaluation": "first match", "rule": _json(current) if current else None,
                                      "rules": [_json(r) for r in rules]}))
    return await render(request, "admin_call_rules.html", {
        "groups": [(a, gettext(ACTION_NAMES[a]), ordered(rules, a)) for a in ACTIONS],
        "describe": lambda r: describe(r, lines, queues), "effects": EFFECT_NAMES, "current": current,
        "values": typed if typed is not None else _values(current), "error": error,
        "field_errors": error.errors if isinstance(error, ValidationError) else {},
        "actions": ACTION_NAMES, "roles": ROLES, "directions": DIRECTIONS, "conditions": CONDITION_NAMES,
        "lines": lines, "queues": queues, "effect_codes": EFFECTS},
        status_code=error.status if error else 200)


def _done(request: Request, body: dict | None = None, status: int = 200):
    if reads_json(request) or wants_json(request):
        return JSONResponse(jsonable(body or {}), status_code=status)
    return RedirectResponse(path_for(request, "call_rules.rules_page"), status_code=303)


def _typed(raw) -> dict:
    return {k: (raw.getlist(k) if k in ("roles", "directions", "line_ids", "queue_ids") else str(raw.get(k, "")))
            for k in CallRuleForm.model_fields}


rules_page, rule_edit = list_and_edit(_page)


async def _save(conn, admin_id: int, rule_id: int | None, form: CallRuleForm) -> None:
    await rule_queries.save(conn, admin_id, rule_id, rule_of(form))


@require_role("admin")
async def rule_save(request: Request):
    rule_id = request.path_params.get("id")
    if reads_json(request):
        try:
            rule = rule_of(await json_body(request, CallRuleForm))
            async with connection(request) as conn:
                saved = await rule_queries.save(conn, request.user["id"], rule_id, rule)
                body = _json(await rule_queries.rule_by_id(conn, saved))
        except DomainError as e:
            return domain_error_json(e)
        return _done(request, body, 201 if rule_id is None else 200)
    return await save_form(request, CallRuleForm, _save, _page, done=_done, typed=_typed)


async def _change(request: Request, change):
    """A delete, move or restore: refused, the page (or JSON) says why and nothing changed."""
    try:
        async with connection(request) as conn:
            await change(conn)
    except DomainError as e:
        if reads_json(request) or wants_json(request):
            return domain_error_json(e)
        return await _page(request, error=e)
    return _done(request, {"ok": True})


@require_role("admin")
async def rule_delete(request: Request):
    return await _change(request, lambda conn: rule_queries.delete(conn, request.user["id"],
                                                                   request.path_params["id"]))


@require_role("admin")
async def rule_move(request: Request):
    if reads_json(request):
        try:
            steps = (await json_body(request, CallRuleMoveForm)).steps
        except DomainError as e:
            return domain_error_json(e)
    else:
        try:
            steps = (await form_body(request, CallRuleMoveForm))[0].steps
        except DomainError as e:
            return await _page(request, error=e)
    return await _change(request, lambda conn: rule_queries.move(conn, request.user["id"],
                                                                 request.path_params["id"], steps))


@require_role("admin")
async def restore_defaults(request: Request):
    return await _change(request, lambda conn: rule_queries.restore_defaults(conn, request.user["id"]))


routes = [
    Route("/admin/call-rules", rules_page, name="call_rules.rules_page", methods=["GET"]),
    Route("/admin/call-rules", rule_save, name="call_rules.rule_create", methods=["POST"]),
    Route("/admin/call-rules/defaults", restore_defaults, name="call_rules.restore_defaults", methods=["POST"]),
    Route("/admin/call-rules/{id:int}", rule_edit, name="call_rules.rule_edit", methods=["GET"]),
    Route("/admin/call-rules/{id:int}", rule_save, name="call_rules.rule_update", methods=["POST"]),
    Route("/admin/call-rules/{id:int}/delete", rule_delete, name="call_rules.rule_delete", methods=["POST"]),
    Route("/admin/call-rules/{id:int}/move", rule_move, name="call_rules.rule_move", methods=["POST"]),
]
