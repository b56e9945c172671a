"""A shop's orders as a list pulled from a URL (issue 24, K1), for the shops that speak neither 1C's
exchange nor a webhook: a JSON array of orders in WooCommerce's shape (or {"orders": [...]}), or a
table - CSV or Excel, read by the same code as issue 22's call lists (crm/orders/sources.read_table) -
with a row per order and columns found by their titles in English or Russian."""

from __future__ import annotations

import json

from crm.i18n import _
from crm.orders.sources import SourceError, read_table
from crm.shop_orders import woocommerce
from crm.shop_orders.model import Incoming, flag, money, text

MAX_ORDERS = 50_000
COLUMNS = {
    "external_id": {"id", "order id", "order_id", "ид", "id заказа"},
    "number": {"number", "order number", "номер", "номер заказа"},
    "status": {"status", "статус", "статус заказа"},
    "total": {"total", "sum", "amount", "сумма"},
    "currency": {"currency", "валюта"},
    "paid": {"paid", "оплачен"},
    "name": {"name", "customer", "client", "имя", "фио", "клиент", "покупатель"},
    "phone": {"phone", "телефон"},
    "email": {"email", "e-mail", "почта", "электронная почта"},
    "address": {"address", "адрес"},
}


def _json_orders(body: bytes) -> list[Incoming]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise SourceError(_("the JSON cannot be read")) from None
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]
    if not isinstance(data, list):
        raise SourceError(_("the JSON is neither a list of orders nor {\"orders\": [...]}"))
    if len(data) > MAX_ORDERS:
        raise SourceError(_("more than %(num)d orders; split the file") % {"num": MAX_ORDERS})
    orders = []
    for item in data:
        try:
            orders.append(woocommerce.order_of(item))
        except ValueError:
            continue  # not an order (no id): nothing to key it by
    return orders


def _table_orders(body: bytes) -> list[Incoming]:
    header, rows = read_table(body)
    titles = [h.strip().casefold() for h in header]
    at = {field: next((i for i, t in enumerate(titles) if t in names), None) for field, names in COLUMNS.items()}
    if at["external_id"] is None and at["number"] is None:
        raise SourceError(_("the first row needs a column called ID or Number (Ид, Номер заказа)"))
    orders = []
    for _number, values in rows:
        def cell(field: str, limit: int = 500, values: list = values) -> str:
            i = at[field]
            return text(values[i], limit) if i is not None and i < len(values) else ""

        key = cell("external_id", 200) or cell("number", 200)
        if not key:
            continue
        problem = ""
        try:
            total = money(cell("total"))
        except ValueError as e:
            total, problem = None, str(e)
        name = cell("name", 400).split(" ", 1)
        orders.append(Incoming(external_id=key, number=cell("number", 100) or key, status=cell("status", 200),
                               total=total, currency=cell("currency", 20), paid=flag(cell("paid")),
                               last_name=name[0], first_name=name[1] if len(name) > 1 else "",
                               phone=cell("phone", 100), email=cell("email", 254), address=cell("address", 1000),
                               problem=problem))
    return orders


def parse(body: bytes) -> list[Incoming]:
    """The list's orders; SourceError when the body is none of JSON, CSV or Excel."""
    head = body.lstrip()[:1]
    if head in (b"[", b"{"):
        return _json_orders(body)
    return _table_orders(body)
