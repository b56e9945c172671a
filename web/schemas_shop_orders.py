"""What the shop order pages accept (issue 24: web/views/shop_orders.py, web/views/shop_sources.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from web import limits as L
from web.schemas import Name, PageQuery, Short, Shorts, TagFilterQuery
from web.validation import BlankIsNone, Checkbox, Ids, OptionalDate, OptionalId, Schema, Secret, Text

Sum = Annotated[Annotated[Decimal, Field(ge=0, le=10**12, max_digits=16, decimal_places=2, allow_inf_nan=False)] | None,
                BlankIsNone]
Minutes = Annotated[Annotated[int, Field(ge=0, le=100_000)] | None, BlankIsNone]


class ShopOrderListQuery(PageQuery, TagFilterQuery):
    """The Orders list's filters (the page, its JSON and its Excel file)."""
    source: Ids = ()
    status: Annotated[tuple[Annotated[str, Text(200)], ...], Field(max_length=L.LIST_ITEMS)] = ()
    start: OptionalDate = Field(None, alias="from")
    end: OptionalDate = Field(None, alias="to")
    counterparty: OptionalId = None
    min_total: Sum = None
    max_total: Sum = None
    open: Checkbox = False


class ShopSourceForm(Schema):
    """A shop source, new or changed (the admin's page)."""
    name: Name = ""
    kind: Short = ""
    login: Annotated[str, Text(100)] = ""
    secret: Annotated[str, Secret(200)] = ""
    url: Annotated[str, Text(2000)] = ""
    reload_minutes: Minutes = None
    active: Checkbox = False
    manager_user_id: OptionalId = None
    notify_manager: Checkbox = False
    make_task: Checkbox = False
    task_type_id: OptionalId = None
    task_due_minutes: Minutes = None


__all__ = ["ShopOrderListQuery", "ShopSourceForm", "Shorts"]
