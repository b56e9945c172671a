"""Users, roles and web sessions."""

from crm.roles import ROLES  # noqa: F401  (the list lives with the role policy)
