"""What an outsourcing customer's user sees (issue 22, G3): the calls and SMS made under its customer's
orders (calls.order_id, sms_messages.order_id -> orders.customer_id), the recordings of those calls, and
reports over only those - nothing else. Pure: the facts (whose order a call or message was made under)
are read first, by the same SQL that reads the other facts (crm/calls/facts_sql.py), then decided here.

The admin's call rules (crm/calls/rules.py) do not apply to customers - they cannot name the customer
role, and a rule allowing "every call" must not open the call centre's log to a customer. So for a
customer the answer is this module's, in Python (`decides`) and in SQL (crm/calls/rules_sql.py and
crm/sms/listing.py use CALL_SCOPE_SQL and SMS_SCOPE_SQL), and a test checks both agree.

- See and listen: the call (message) was made under an order of the user's customer.
- Edit (comment, attach to a card): never; the call centre's staff keep the log.
- A customer user without a customer (the schema forbids it) sees nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from crm.roles import is_customer

SEE, LISTEN, EDIT = "see", "listen", "edit"  # as crm/calls/rules.ACTIONS
# What a customer may do to a call of its own orders.
CUSTOMER_ACTIONS = frozenset({SEE, LISTEN})

# The customer's calls and messages, as SQL over the row {a}; {c} is the customer's id ($n): true or
# false, never NULL. Through the orders' index by customer (0045: orders_customer_idx), hashed once.
CALL_SCOPE_SQL = "coalesce({a}.order_id IN (SELECT so.id FROM orders so WHERE so.customer_id = {c}), false)"
SMS_SCOPE_SQL = CALL_SCOPE_SQL
# The customer whose order a call c was made under, as a select-list item (crm/calls/facts_sql.RULE_FACTS).
ORDER_CUSTOMER_SQL = "(SELECT fo.customer_id FROM orders fo WHERE fo.id = c.order_id) AS order_customer_id"


def customer_of(user: Mapping) -> int | None:
    """The customer a customer user works for (None for the call centre's staff, or when unknown)."""
    if not is_customer(user):
        return None
    customer_id = user.get("customer_id")
    return int(customer_id) if customer_id is not None else None


def may(user: Mapping, order_customer_id: int | None, action: str) -> bool:
    """May this customer user do `action` to a call or message made under an order of
    `order_customer_id` (None: under no order)? Only for customer users (see `decides`)."""
    mine = customer_of(user)
    return (action in CUSTOMER_ACTIONS and mine is not None and order_customer_id is not None
            and order_customer_id == mine)


def decides(user: Mapping) -> bool:
    """Is the answer for this user this module's rather than the call rules'?"""
    return is_customer(user)
