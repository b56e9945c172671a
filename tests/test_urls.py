"""web/urls.py finds a named route's path from an index (issue 25): the same path as Starlette's own search
through every route, for every named route of the app, and the same refusal of a wrong name or parameters."""

from __future__ import annotations

import pytest
from starlette.routing import NoMatchFound

from web.app import create_app
from web.urls import app_path_for

SAMPLES = {"int": 7, "databaseid": 7, "string": "x", "path": "a/b.css", "float": 1.5}


def test_every_named_route_has_the_path_starlettes_search_gives(settings):
    app = create_app(settings)
    named = [r for r in app.routes if getattr(r, "name", None)]
    assert len(named) > 100
    for route in named:
        params = {k: SAMPLES[type(c).__name__.removesuffix("Convertor").lower()]
                  for k, c in getattr(route, "param_convertors", {}).items()}
        if route.name == "static":
            params = {"path": "app.css"}
        assert app_path_for(app, route.name, **params) == str(app.url_path_for(route.name, **params)), route.name
    with pytest.raises(NoMatchFound):
        app_path_for(app, "no.such.route")
    with pytest.raises(NoMatchFound):
        app_path_for(app, "counterparty_cards.card")  # its id missing
    assert app_path_for(app, "counterparty_cards.card", id=5) == "/counterparties/5"
