"""Excel export (F4): lists and reports to .xlsx with their filters applied."""

# Roles that may export; an admin can widen it (app setting export.roles).
DEFAULT_ROLES = ("supervisor", "admin")
