"""What the order and customer pages accept (web/views/orders.py, web/views/customers.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.schemas import Name, Short
from web.validation import BlankIsNone, Checkbox, OptionalId, Schema, Text

Minutes = Annotated[Annotated[int, Field(ge=0, le=100_000)] | None, BlankIsNone]


class OrderForm(Schema):
    """A new or changed order (a multipart form: the list may come as a file)."""
    name: Name = ""
    customer_id: OptionalId = None
    script: Annotated[str, Text(20000)] = ""
    status: Short = "open"
    source_url: Annotated[str, Text(2000)] = ""
    reload_minutes: Minutes = None
    key_column: Short = ""


class OrderSmsForm(Schema):
    body: Annotated[str, Text(2000)] = ""


class CustomerForm(Schema):
    name: Name = ""


class PrivateUrlsForm(Schema):
    allowed: Checkbox = False


__all__ = ["OrderForm", "OrderSmsForm", "CustomerForm", "PrivateUrlsForm", "L"]
