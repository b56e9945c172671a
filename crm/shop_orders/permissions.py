"""Who sees and calls shop orders (issue 24, K1): pure functions of the user, and the SQL condition that
keeps every list, count and export to what its reader may see.

A shop order is its card's: the call centre's staff see it as they see the card (every live card; a
deleted card's orders only supervisors and admins). A customer's user (issue 22) sees none, and the
pages answer it 404 (web/customer_access.py). Staff who call may call the order's number."""

from __future__ import annotations

from collections.abc import Mapping

from crm.roles import ROLES, is_admin, sees_everything


def sees_shop_orders(user: Mapping) -> bool:
    return user["role"] in ROLES


def sees_order(user: Mapping, order: Mapping) -> bool:
    if not sees_shop_orders(user):
        return False
    return sees_everything(user) or order.get("counterparty_deleted_at") is None


def may_call(user: Mapping, order: Mapping) -> bool:
    return sees_order(user, order) and bool(order.get("phone_normalized"))


def manages_sources(user: Mapping) -> bool:
    return is_admin(user)


def visible_sql(user: Mapping) -> str:
    """The condition over shop_orders o joined to counterparties cp (its card) for what `user` may see."""
    if not sees_shop_orders(user):
        return "false"
    if sees_everything(user):
        return "true"
    return "(o.counterparty_id IS NULL OR cp.deleted_at IS NULL)"
