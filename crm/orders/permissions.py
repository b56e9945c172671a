"""Who may see, change and call an order (issue 22, H9, G3): pure functions of the user and the order, and
the SQL condition that keeps a list to the orders its reader may see.

Staff see every order (operators call them); managers, supervisors and admins create and change them.
A customer's user sees only its own customer's orders, read-only, and never calls from them.
"""

from __future__ import annotations

from collections.abc import Mapping

from crm.roles import ADMIN, MANAGER, OPERATOR, SUPERVISOR, is_customer

EDIT_ROLES = (MANAGER, SUPERVISOR, ADMIN)
CALL_ROLES = (OPERATOR, MANAGER, SUPERVISOR, ADMIN)


def sees_orders(user: Mapping) -> bool:
    """The orders menu and list: staff, and customers (who see their own only)."""
    return user["role"] in CALL_ROLES or (is_customer(user) and user.get("customer_id") is not None)


def sees_order(user: Mapping, order: Mapping) -> bool:
    if is_customer(user):
        return user.get("customer_id") is not None and order["customer_id"] == user["customer_id"]
    return user["role"] in CALL_ROLES


def may_edit_orders(user: Mapping) -> bool:
    """Create and change orders, load their call lists."""
    return user["role"] in EDIT_ROLES


def may_call_order(user: Mapping, order: Mapping) -> bool:
    """Call (or text) the order's rows: staff, on an open order."""
    return user["role"] in CALL_ROLES and order["status"] == "open"


def visible_where(user: Mapping, alias: str, next_arg: int) -> tuple[str, list]:
    """The condition on `alias` (the orders table) that keeps the user's orders, and its arguments
    (numbered from $next_arg). Staff: every order; a customer: its customer's; anyone else: none."""
    if is_customer(user):
        if user.get("customer_id") is None:
            return "false", []
        return f"{alias}.customer_id = ${next_arg}", [user["customer_id"]]
    if user["role"] in CALL_ROLES:
        return "true", []
    return "false", []
