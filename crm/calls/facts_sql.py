"""What the call rules read of a call c, as SQL select-list items: one place for the call log and the
voicemails (crm/voicemails/queries.py), which crm/calls/queries.py itself imports."""

from __future__ import annotations

from crm.customers_scope import ORDER_CUSTOMER_SQL

# Everyone who talked on the call c on our side (crm/transfers: its legs), as an array.
LEG_USERS = "ARRAY(SELECT l.user_id FROM call_legs l WHERE l.call_id = c.id AND l.user_id IS NOT NULL)"

# What the call rules read of a call c (crm/calls/rules.Facts.of_call), for the checks made in Python.
RULE_FACTS = ("c.operator_user_id, c.caller_user_id, c.owner_user_id, c.direction, c.ended_at, c.line_id, c.queue_id, "
              "(SELECT f.responsible_user_id FROM counterparties f WHERE f.id = c.counterparty_id) "
              "AS responsible_user_id, "
              "(SELECT f.deleted_at FROM counterparties f WHERE f.id = c.counterparty_id) AS counterparty_deleted_at, "
              f"{LEG_USERS} AS leg_user_ids, {ORDER_CUSTOMER_SQL}")
