"""The signed JSON webhook (issue 24, K1), exactly as WooCommerce sends it: POST with the order's JSON
(its REST API shape: id, number, status, currency, total, date_created_gmt, date_paid_gmt, billing
{first_name, last_name, email, phone, address_1, city, ...}, line_items [{name, quantity, price, total,
sku}]), the headers X-WC-Webhook-Topic (order.created, order.updated, ...) and X-WC-Webhook-Signature:
base64 of the HMAC-SHA256 of the raw body with the webhook's secret. Any shop platform can send the same.

`signed` and `order_of` are pure; the view (web/views/shop_machine.py) refuses a bad signature (401)
before anything is read or stored."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping

from crm.i18n import _
from crm.shop_orders.model import Incoming, Line, money, text

SIGNATURE_HEADER = "x-wc-webhook-signature"
TOPIC_HEADER = "x-wc-webhook-topic"
ORDER_TOPICS = ("order.created", "order.updated", "order.restored")
MAX_BODY = 512 * 1024


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Is `header` the body's signature with this secret? No secret set signs nothing."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def _gmt(value) -> dt.datetime | None:
    """WooCommerce's *_gmt times: "2024-01-15T10:00:00" in UTC."""
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value)[:32])
    except ValueError:
        raise ValueError(_("%(value)s is not a date") % {"value": repr(str(value)[:40])}) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _address(billing: Mapping) -> str:
    parts = [text(billing.get(k), 200) for k in ("address_1", "address_2", "city", "state", "postcode", "country")]
    return ", ".join(p for p in parts if p)


def order_of(data) -> Incoming:
    """The order in WooCommerce's JSON; ValueError when it is not an order at all (no id)."""
    if (not isinstance(data, Mapping) or isinstance(data.get("id"), (dict, list, bool))
            or not text(data.get("id"), 100)):  # blank after cleaning (" ", NUL) is no id either
        raise ValueError(_("the body is not an order: it has no id"))
    problems: list[str] = []

    def read(reader, value):
        try:
            return reader(value)
        except ValueError as e:
            problems.append(str(e))
            return None

    billing_value, items_value = data.get("billing"), data.get("line_items")
    billing: Mapping = billing_value if isinstance(billing_value, Mapping) else {}
    items: list = items_value if isinstance(items_value, list) else []
    lines = tuple(Line(name=text(i.get("name"), 500), sku=text(i.get("sku"), 100),
                       quantity=read(money, i.get("quantity")), price=read(money, i.get("price")),
                       total=read(money, i.get("total")))
                  for i in items[:1000] if isinstance(i, Mapping))
    status = text(data.get("status"), 100)
    paid_at = read(_gmt, data.get("date_paid_gmt"))
    return Incoming(
        external_id=text(data.get("id"), 200), number=text(data.get("number") or data.get("id"), 100),
        status=status, total=read(money, data.get("total")), currency=text(data.get("currency"), 20),
        paid=paid_at is not None or status in ("processing", "completed"), paid_at=paid_at,
        cancelled=status == "cancelled", ordered_at=read(_gmt, data.get("date_created_gmt")),
        modified_at=read(_gmt, data.get("date_modified_gmt")),
        first_name=text(billing.get("first_name"), 200), last_name=text(billing.get("last_name"), 200),
        phone=text(billing.get("phone"), 100), email=text(billing.get("email"), 254), address=_address(billing),
        lines=lines, problem="; ".join(problems)[:1000])
