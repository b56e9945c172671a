"""Role policy: what each role may do regardless of the object. One place, pure.

Object rules (whose client, who took the call) live beside their domain
(crm/counterparties/permissions.py, crm/calls/permissions.py, ...) and start
from these.
"""

from __future__ import annotations

from collections.abc import Mapping

OPERATOR, MANAGER, SUPERVISOR, ADMIN = "operator", "manager", "supervisor", "admin"
# The call centre's own staff. The call rules, the allow lists' roles and the users' form speak of these.
ROLES = (OPERATOR, MANAGER, SUPERVISOR, ADMIN)
# An outsourcing customer's user (issue 22, G3): sees only its customer's orders, their calls,
# recordings, SMS and reports over them, and nothing else (web/customer_access.py).
CUSTOMER = "customer"
ALL_ROLES = ROLES + (CUSTOMER,)
# Roles that see and may change every object of the CRM.
_OVERSEERS = frozenset({SUPERVISOR, ADMIN})


def sees_everything(user: Mapping) -> bool:
    """Supervisors and admins see and change every object; the others by object rules."""
    return user["role"] in _OVERSEERS


def acts_for_others(user: Mapping) -> bool:
    """May act in another user's name (place a call for them, read their requests)."""
    return user["role"] in _OVERSEERS


def is_customer(user: Mapping) -> bool:
    return user["role"] == CUSTOMER


def is_admin(user: Mapping) -> bool:
    return user["role"] == ADMIN


# Who reads the reports (statistics, deals) and loads Excel files: managers and above.
REPORT_ROLES = (MANAGER, SUPERVISOR, ADMIN)
IMPORT_ROLES = (MANAGER, SUPERVISOR, ADMIN)


def sees_reports(user: Mapping) -> bool:
    return user["role"] in REPORT_ROLES


# The call statistics: the report readers, and a customer's user over its own orders' calls (G3).
CALL_REPORT_ROLES = REPORT_ROLES + (CUSTOMER,)


# Who watches the live wallboard (issue 18): supervisors and admins.
WALLBOARD_ROLES = (SUPERVISOR, ADMIN)


def sees_wallboard(user: Mapping) -> bool:
    return user["role"] in WALLBOARD_ROLES


# Who sees the PBX nodes and whether each is up (issue 26): those who watch the wallboard.
NODES_ROLES = WALLBOARD_ROLES


def sees_nodes(user: Mapping) -> bool:
    return user["role"] in NODES_ROLES


def imports_files(user: Mapping) -> bool:
    return user["role"] in IMPORT_ROLES
