"""Issue 13, the web layer: one connection per request taken only when needed,
error pages that never touch the database."""

import pytest

from tests.helpers import login, make_user
from web import templating


class CountingPool:
    """The app's pool, counting the connections taken from it."""

    def __init__(self, pool):
        self.pool = pool
        self.acquired = 0

    def acquire(self, *args, **kwargs):
        self.acquired += 1
        return self.pool.acquire(*args, **kwargs)

    def release(self, conn, *args, **kwargs):
        return self.pool.release(conn, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.pool, name)


@pytest.fixture
async def operator(pool):
    return await make_user(pool, "olga", "operator", full_name="Olga Operator")


def _counting(web) -> CountingPool:
    counting = CountingPool(web.app.state.pool)
    web.app.state.pool = counting
    return counting


def test_a_page_takes_one_connection_for_the_session_check_and_one_for_the_view_and_the_nav(web, operator):
    # The session check's own connection goes back at once: the request's one is held until the
    # response ends, which for the screen pop's event stream is as long as the tab is open.
    assert login(web, "olga").status_code == 303
    counting = _counting(web)
    try:
        page = web.get("/clients")
        assert page.status_code == 200 and "Olga Operator" in page.text
        assert counting.acquired == 2
        assert web.get("/tasks").status_code == 200 and counting.acquired == 4
    finally:
        web.app.state.pool = counting.pool


def test_static_files_and_the_error_pages_take_no_connection(web, operator):
    assert login(web, "olga").status_code == 303
    counting = _counting(web)
    try:
        assert web.get("/static/app.css").status_code == 200
        missing = web.get("/static/no-such-file.css")
        assert missing.status_code == 404 and "<h1>404</h1>" in missing.text
        assert counting.acquired == 0
    finally:
        web.app.state.pool = counting.pool


def test_a_404_renders_while_the_database_is_down(web, operator):
    assert login(web, "olga").status_code == 303
    pool = web.app.state.pool

    class Down:
        def acquire(self, *args, **kwargs):
            raise OSError("database down")

        def __getattr__(self, name):
            return getattr(pool, name)

    web.app.state.pool = Down()
    try:
        missing = web.get("/static/no-such-file.css")
        assert missing.status_code == 404 and "<h1>404</h1>" in missing.text
    finally:
        web.app.state.pool = pool


def test_a_logged_in_users_404_page_shows_the_nav_without_reading_the_database(web, operator, monkeypatch):
    assert login(web, "olga").status_code == 303

    async def no_database(*args, **kwargs):
        raise AssertionError("the error page read the database")

    monkeypatch.setattr(templating.appsettings, "get_all", no_database)
    monkeypatch.setattr(templating.tray, "tray", no_database)
    missing = web.get("/counterparties/999999")
    assert missing.status_code == 404
    assert "Olga Operator" in missing.text and 'href="/clients"' in missing.text


@pytest.fixture
async def manager_with_client_in_company(pool):
    from crm.counterparties import service
    from crm.counterparties.model import CounterpartyInput

    manager = await make_user(pool, "mira", "manager", full_name="Mira Manager")
    async with pool.acquire() as conn:
        company = await service.create(conn, manager, CounterpartyInput(kind="company", company_name="Horns Ltd"), "RU")
        client = await service.create(conn, manager, CounterpartyInput(
            kind="client", last_name="Hoofs", first_name="Ivan", company_ids=(company,)), "RU")
    return manager, company, client


def test_one_view_answers_the_page_or_json_by_accept_or_by_the_api_path(web, manager_with_client_in_company):
    _, _company, client = manager_with_client_in_company
    assert login(web, "mira").status_code == 303
    for page, api in (("/clients", "/api/clients"), ("/calls", "/api/calls"),
                      (f"/counterparties/{client}", f"/api/counterparties/{client}")):
        html = web.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        by_accept = web.get(page, headers={"Accept": "application/json"})
        assert by_accept.headers["content-type"] == "application/json"
        assert by_accept.json() == web.get(api).json()
    assert web.get(f"/api/counterparties/{client}").json()["display_name"].startswith("Hoofs")


def test_every_route_has_a_name_of_its_own(web):
    names = [r.name for r in web.app.routes]
    assert all(names) and len(names) == len(set(names))
    assert web.app.url_path_for("counterparty_cards.card", id=7) == "/counterparties/7"


def test_one_card_template_shows_a_clients_companies_and_a_companys_clients(web, manager_with_client_in_company):
    _, company, client = manager_with_client_in_company
    assert login(web, "mira").status_code == 303
    client_card = web.get(f"/counterparties/{client}").text
    assert 'class="card card-client"' in client_card and 'id="companies"' in client_card
    assert f'href="/counterparties/{company}"' in client_card
    assert f'action="/counterparties/{client}/companies/{company}/leave"' in client_card
    company_card = web.get(f"/counterparties/{company}").text
    assert 'class="card card-company"' in company_card and 'id="members"' in company_card
    assert f'href="/counterparties/{client}"' in company_card and 'id="companies"' not in company_card
    assert f'href="/clients?company={company}"' in company_card


async def test_users_page_and_api_are_one_view_reading_json_or_a_form(web, db):
    """/admin/users and /api/users are the same view: the page's URL answers JSON when asked
    and takes a JSON body; the API route still takes JSON and answers 201 with the user."""
    await make_user(db, "adm", "admin")
    login(web, "adm")
    h = {"x-csrf-token": web.cookies["pbxcrm_csrf"], "accept": "application/json"}
    listed = web.get("/admin/users", headers={"accept": "application/json"})
    assert listed.status_code == 200 and any(u["login"] == "adm" for u in listed.json()["items"])
    r = web.post("/admin/users", headers=h, json={"login": "nina", "full_name": "Nina Newman",
                                                  "password": "long password", "role": "manager"})
    assert r.status_code == 201 and r.json()["login"] == "nina"
    bad = web.post("/admin/users", headers=h, json={"login": "nina2", "full_name": "N", "password": 12,
                                                    "role": "manager"})
    assert bad.status_code == 400 and "password" in bad.json()["fields"]
    r = web.post("/api/users", headers={"x-csrf-token": h["x-csrf-token"]},
                 json={"login": "oleg", "full_name": "Oleg", "password": "long password", "role": "operator"})
    assert r.status_code == 201 and r.json()["login"] == "oleg"
    assert [u["login"] for u in web.get("/api/users").json()["items"]].count("oleg") == 1


def test_every_filter_section_redirects_to_a_named_list_route():
    """crm keeps the section names; web maps each to a route that exists (no literal paths)."""
    from crm import filters
    from web.views import filters as filter_views
    from web.views.calls import routes as call_routes
    from web.views.counterparty_lists import routes as list_routes
    from web.views.sms_list import routes as sms_routes
    from web.views.tasks import routes as task_routes
    names = {r.name for r in [*list_routes, *task_routes, *call_routes, *sms_routes]}
    assert set(filter_views.LIST_ROUTES) == set(filters.SECTIONS)
    assert set(filter_views.LIST_ROUTES.values()) <= names
