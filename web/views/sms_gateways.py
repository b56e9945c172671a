"""Admin page for SMS gateways and sending numbers (issue 21): a gateway per provider (SMPP, a GSM
gateway through SIP MESSAGE, an HTTP service) with its settings checked by crm/sms/gateway_config.py,
switched on and off; our numbers, each sent through one gateway, one of them the default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from crm.errors import DomainError, ValidationError
from crm.sms import gateway_admin, gateway_config
from web.admin_list import item_action, list_and_edit, redirect_to, save_form
from web.db import connection
from web.permissions import require_role
from web.schemas_sms_list import SmsGatewayActiveForm, SmsGatewayForm, SmsNumberDeleteForm, SmsNumberForm
from web.templating import render
from web.validation import form_body

_LIST = "sms_gateways.gateways_page"


async def _page(request: Request, *, editing: int | None = None, error: DomainError | None = None,
                typed: dict | None = None, number_typed: dict | None = None):
    async with connection(request) as conn:
        gateways = await gateway_admin.gateways(conn)
        numbers = await gateway_admin.numbers(conn)
        current = await gateway_admin.gateway(conn, editing) if editing else None
    if typed is not None:
        values = typed
    elif current is not None:
        values = {"name": current["name"], "kind": current["kind"], "active": current["active"],
                  **gateway_config.form_values(current["kind"], current["config"])}
    else:
        values = {"kind": "smpp", "active": True}
    field_errors = error.errors if isinstance(error, ValidationError) else {}
    return await render(request, "admin_sms_gateways.html", {
        "gateways": [{**g, "shown": gateway_config.shown(g["config"])} for g in gateways], "numbers": numbers,
        "current": current, "values": values, "number_values": number_typed or {}, "error": error,
        "field_errors": field_errors, "kinds": gateway_config.KINDS, "fields": gateway_config.FIELDS,
        "form_name": gateway_config.form_name, "secrets": gateway_config.SECRETS,
        "labels_of": gateway_config.LABELS},
        status_code=error.status if error else 200)


gateways_page, gateway_edit = list_and_edit(_page)


async def _save(conn, admin_id: int, gateway_id: int | None, form: SmsGatewayForm) -> None:
    await gateway_admin.save_gateway(conn, admin_id, gateway_id, form.name, form.kind, form.active,
                                     form.model_dump())


def _typed(raw) -> dict:
    """What the admin typed, secrets left out (never sent back to the page)."""
    return {k: str(raw.get(k, "")) for k in SmsGatewayForm.model_fields if k not in gateway_config.SECRETS} | {
        "active": bool(raw.get("active"))}


@require_role("admin")
async def gateway_save(request: Request):
    return await save_form(request, SmsGatewayForm, _save, _page, done=redirect_to(_LIST), typed=_typed)


gateway_active = item_action(_page, _LIST, lambda conn, admin_id, gateway_id, form:
                             gateway_admin.set_active(conn, admin_id, gateway_id, form.active), SmsGatewayActiveForm)
number_delete = item_action(_page, _LIST, lambda conn, admin_id, _id, form:
                            gateway_admin.delete_number(conn, admin_id, form.number), SmsNumberDeleteForm)


@require_role("admin")
async def number_save(request: Request):
    raw = await request.form()
    try:
        form = (await form_body(request, SmsNumberForm))[0]
        async with connection(request) as conn:
            await gateway_admin.save_number(conn, request.user["id"], form.number, form.gateway_id, form.is_default,
                                            request.app.state.settings.default_region)
    except DomainError as e:
        return await _page(request, error=e, number_typed={k: str(raw.get(k, "")) for k in SmsNumberForm.model_fields})
    return redirect_to(_LIST)(request)


routes = [
    Route("/admin/sms-gateways", gateways_page, name="sms_gateways.gateways_page", methods=["GET"]),
    Route("/admin/sms-gateways", gateway_save, name="sms_gateways.gateway_create", methods=["POST"]),
    Route("/admin/sms-gateways/{id:int}", gateway_edit, name="sms_gateways.gateway_edit", methods=["GET"]),
    Route("/admin/sms-gateways/{id:int}", gateway_save, name="sms_gateways.gateway_update", methods=["POST"]),
    Route("/admin/sms-gateways/{id:int}/active", gateway_active, name="sms_gateways.gateway_active",
          methods=["POST"]),
    Route("/admin/sms-gateways/numbers", number_save, name="sms_gateways.number_save", methods=["POST"]),
    Route("/admin/sms-gateways/numbers/delete", number_delete, name="sms_gateways.number_delete", methods=["POST"]),
]
