"""Paths of named routes, for redirects and templates: every Route has a name=, and links are
built from it instead of written out. Paths, not absolute URLs (request.url_for gives those):
the Location headers and links stay relative to this site, as they always were.

Starlette finds a name by trying every route in turn (hundreds here), and a list page asks for
dozens of paths: that search was most of a list page's time (issue 25). Each route is found by
name in an index kept on the app instead."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, NoMatchFound


def path_for(request: HTTPConnection, name: str, **params) -> str:
    return app_path_for(request.app, name, **params)


def app_path_for(app: Any, name: str, **params) -> str:
    """What `app.url_path_for(name, **params)` gives, without trying every route on the way."""
    index: dict[str, BaseRoute] | None = getattr(app.state, "routes_by_name", None)
    if index is None:
        index = {}
        for route in app.routes:
            name_of = getattr(route, "name", None)  # a Route's, or the static files' Mount's
            if name_of:
                index.setdefault(name_of, route)  # the first of a name, as Starlette's search finds
        app.state.routes_by_name = index
    route = index.get(name)
    if route is not None:
        try:
            return str(route.url_path_for(name, **params))
        except NoMatchFound:  # other parameters: Starlette's own search says so, or finds another route
            pass
    return str(app.url_path_for(name, **params))
