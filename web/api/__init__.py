"""The JSON API under /api/: the same objects and permission checks as the pages."""
