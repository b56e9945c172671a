"""Users, roles and web sessions."""

ROLES = ("operator", "manager", "supervisor", "admin")
