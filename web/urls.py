"""Paths of named routes, for redirects and templates: every Route has a name=, and links are
built from it instead of written out. Paths, not absolute URLs (request.url_for gives those):
the Location headers and links stay relative to this site, as they always were."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def path_for(request: HTTPConnection, name: str, **params) -> str:
    return str(request.app.url_path_for(name, **params))
