"""IP allow-lists over HTTP (issue 17): at login, on every request, the admin's page and the
command line's break-glass. The peer address is the TestClient's `client`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from starlette.testclient import TestClient

from tests.helpers import login, make_user
from web.app import create_app

ADMIN_AT = "203.0.113.5"
OFFICE = "192.0.2.0/24"


@contextlib.contextmanager
def client_at(settings, address: str):
    """A browser at this address, with an app (and pool) of its own, as another worker would be."""
    with TestClient(create_app(settings), base_url="http://testserver", client=(address, 5000)) as c:
        yield c


def _json(c: TestClient) -> dict:
    return {"x-csrf-token": c.cookies["pbxcrm_csrf"], "accept": "application/json"}


def add(c: TestClient, network: str, *, role: str | None = None, user_id: int | None = None, note: str = ""):
    body = {"network": network, "note": note} | ({"role": role} if role else {}) | (
        {"user_id": user_id} if user_id else {})
    return c.post("/admin/allowlist", json=body, headers=_json(c))


def entries(c: TestClient) -> list[dict]:
    return c.get("/admin/allowlist", headers={"accept": "application/json"}).json()["items"]


async def _admin_and_operator(db):
    anna = await make_user(db, "anna", "admin", full_name="Anna Admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    return anna, petrov


async def test_a_login_from_outside_the_roles_list_is_refused_and_from_inside_allowed(db, settings):
    _anna, petrov = await _admin_and_operator(db)
    with client_at(settings, ADMIN_AT) as admin:
        assert login(admin, "anna").status_code == 303
        r = add(admin, OFFICE, role="operator", note="Office")
        assert r.status_code == 201 and r.json()["network"] == OFFICE
    with client_at(settings, "198.51.100.7") as outside:
        r = login(outside, "petrov")
        assert r.status_code == 403
        assert "This account may not be used from your address (198.51.100.7)" in r.text
        assert outside.get("/calls", follow_redirects=False).status_code == 302  # no session was opened
        # A wrong password says only that: the list tells nobody without the password anything.
        r = login(outside, "petrov", "wrong password")
        assert r.status_code == 400 and "Wrong login or password" in r.text
    with client_at(settings, "192.0.2.44") as inside:
        assert login(inside, "petrov").status_code == 303
        assert inside.get("/calls").status_code == 200
    async with db.acquire() as conn:
        failed = await conn.fetchrow("SELECT user_id, entity_id, changes, host(address) AS address FROM audit_log "
                                     "WHERE action = 'login_failed' AND changes->'reason'->>1 = 'address not allowed'")
        assert failed is not None and failed["entity_id"] == petrov["id"]
        assert failed["address"] == "198.51.100.7"
        created = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'ip_allow_entry' "
                                      "AND action = 'create'")
        assert '"network": [null, "192.0.2.0/24"]' in created and '"role": [null, "operator"]' in created


async def test_ipv6_and_ipv4_seen_through_an_ipv6_socket(db, settings):
    await _admin_and_operator(db)
    with client_at(settings, ADMIN_AT) as admin:
        login(admin, "anna")
        assert add(admin, "2001:db8:1::/48", role="operator").status_code == 201
        assert add(admin, OFFICE, role="operator").status_code == 201
    for address, status in (("2001:db8:1::9", 303), ("2001:db8:2::9", 403), ("::ffff:192.0.2.8", 303),
                            ("::ffff:198.51.100.7", 403)):
        with client_at(settings, address) as c:
            assert login(c, "petrov").status_code == status, address


async def test_a_users_own_list_replaces_their_roles(db, settings):
    _anna, petrov = await _admin_and_operator(db)
    await make_user(db, "sidorova", "operator")
    with client_at(settings, ADMIN_AT) as admin:
        login(admin, "anna")
        assert add(admin, OFFICE, role="operator").status_code == 201
        assert add(admin, "198.51.100.7", user_id=petrov["id"], note="home").status_code == 201
        listed = {(e["role"], e["login"], e["network"]) for e in entries(admin)}
        assert listed == {("operator", None, OFFICE), (None, "petrov", "198.51.100.7/32")}
    with client_at(settings, "198.51.100.7") as home:
        assert login(home, "petrov").status_code == 303
        assert login(home, "sidorova").status_code == 403  # the role's list holds her
    with client_at(settings, "192.0.2.44") as office:
        assert login(office, "sidorova").status_code == 303
        assert login(office, "petrov").status_code == 403  # his own list is his whole list


async def test_an_open_session_is_cut_when_the_list_changes_and_served_again_when_it_allows(db, settings):
    await _admin_and_operator(db)
    with client_at(settings, ADMIN_AT) as admin, client_at(settings, "198.51.100.7") as petrov:
        login(admin, "anna")
        assert login(petrov, "petrov").status_code == 303
        assert petrov.get("/calls").status_code == 200
        entry = add(admin, OFFICE, role="operator").json()
        r = petrov.get("/calls")
        assert r.status_code == 403 and "This account may not be used from your address (198.51.100.7)" in r.text
        assert "<h1>403</h1>" in r.text  # the error page, not the call log
        r = petrov.get("/api/calls")
        assert r.status_code == 403 and r.json()["error"].startswith("This account may not be used")
        r = petrov.post("/counterparties/new", data={"csrf_token": petrov.cookies["pbxcrm_csrf"], "kind": "client",
                                                     "last_name": "Sneaky"}, follow_redirects=False)
        assert r.status_code == 403
        r = admin.post(f"/admin/allowlist/{entry['id']}/delete", headers=_json(admin))
        assert r.status_code == 200 and r.json()["network"] == OFFICE
        assert petrov.get("/calls").status_code == 200
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties WHERE last_name = 'Sneaky'") == 0


async def test_a_malformed_network_is_refused_and_nothing_is_saved(db, settings):
    await _admin_and_operator(db)
    with client_at(settings, ADMIN_AT) as admin:
        login(admin, "anna")
        r = admin.post("/admin/allowlist", data={"csrf_token": admin.cookies["pbxcrm_csrf"], "role": "operator",
                                                 "network": "10.1.2.3/8", "note": "typo"})
        assert r.status_code == 400 and "did you mean 10.0.0.0/8?" in r.text
        assert 'value="10.1.2.3/8"' in r.text  # the form comes back with what was typed
        r = add(admin, "192.0.2.0/33", role="operator")
        assert r.status_code == 400 and "is not a network" in r.json()["fields"]["network"]
        r = add(admin, "10.0.0.0/8")  # neither a role nor a user
        assert r.status_code == 400 and "role" in r.json()["fields"]
        r = add(admin, "10.0.0.0/8", role="operator", user_id=999999)
        assert r.status_code == 400
        assert entries(admin) == []
        assert add(admin, OFFICE, role="operator").status_code == 201
        r = add(admin, "192.0.2.0/24", role="operator")
        assert r.status_code == 400 and "on that list already" in r.json()["error"]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ip_allow_entries") == 1


async def test_a_change_that_would_shut_out_the_admin_making_it_is_refused(db, settings):
    anna, _petrov = await _admin_and_operator(db)
    with client_at(settings, ADMIN_AT) as admin:
        login(admin, "anna")
        r = admin.post("/admin/allowlist", data={"csrf_token": admin.cookies["pbxcrm_csrf"], "role": "admin",
                                                 "network": "10.0.0.0/8"})
        assert r.status_code == 400
        assert "after this change you could not work from your current address (203.0.113.5)" in r.text
        r = add(admin, "10.0.0.0/8", user_id=anna["id"])
        assert r.status_code == 400 and "203.0.113.5" in r.json()["error"]
        assert entries(admin) == []
        # Her own address first, then the office: allowed; taking her address away again is not.
        mine = add(admin, "203.0.113.0/24", role="admin").json()
        assert add(admin, "10.0.0.0/8", role="admin").status_code == 201
        r = admin.post(f"/admin/allowlist/{mine['id']}/delete", headers=_json(admin))
        assert r.status_code == 400 and "could not work from your current address" in r.json()["error"]
        assert {e["network"] for e in entries(admin)} == {"203.0.113.0/24", "10.0.0.0/8"}
        assert admin.get("/admin/allowlist").status_code == 200
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'ip_allow_entry'") == 2


async def test_only_admins_keep_the_lists(db, settings):
    await _admin_and_operator(db)
    with client_at(settings, "192.0.2.44") as petrov:
        login(petrov, "petrov")
        assert petrov.get("/admin/allowlist").status_code == 403
        assert add(petrov, "0.0.0.0/0", role="operator").status_code == 403


def _pbxcrm(database_url, *args):
    return subprocess.run([sys.executable, "-m", "pbxcrm", "allowlist", *args], capture_output=True, text=True,
                          env=dict(os.environ, DATABASE_URL=database_url), timeout=60)


async def test_break_glass_from_the_command_line_lets_a_locked_out_admin_in(db, settings, database_url):
    anna, _petrov = await _admin_and_operator(db)
    async with db.acquire() as conn:  # a list that shuts everyone out, as a mistake or a moved office would
        await conn.execute("INSERT INTO ip_allow_entries (role, network) VALUES ('admin', '10.0.0.0/8')")
        await conn.execute("INSERT INTO ip_allow_entries (user_id, network) VALUES ($1, '10.9.0.0/16')", anna["id"])
    with client_at(settings, ADMIN_AT) as c:
        assert login(c, "anna").status_code == 403
    shown = _pbxcrm(database_url, "show")
    assert shown.returncode == 0 and "role admin\t10.0.0.0/8" in shown.stdout and "anna\t10.9.0.0/16" in shown.stdout
    assert _pbxcrm(database_url, "open").returncode == 2
    nobody = _pbxcrm(database_url, "open", "--user", "nobody")
    assert nobody.returncode == 1 and "no user with login 'nobody'" in nobody.stderr
    opened = _pbxcrm(database_url, "open", "--user", "ANNA")
    assert opened.returncode == 0 and "anna may log in from anywhere" in opened.stdout
    with client_at(settings, ADMIN_AT) as c, client_at(settings, "2001:db8::1") as c6:
        assert login(c, "anna").status_code == 303 and login(c6, "anna").status_code == 303
    cleared = _pbxcrm(database_url, "clear", "--role", "admin")
    assert cleared.returncode == 0 and "removed 1 entry of role admin's list" in cleared.stdout
    cleared = _pbxcrm(database_url, "clear", "--user", "anna")
    assert cleared.returncode == 0 and "removed 2 entries of anna's own list" in cleared.stdout
    assert "no entries" in _pbxcrm(database_url, "show").stdout
    async with db.acquire() as conn:
        actions = [(r["action"], r["user_id"]) for r in await conn.fetch(
            "SELECT action, user_id FROM audit_log WHERE entity = 'ip_allow_entry' ORDER BY id")]
    # open: anna's own entry out, "anywhere" (two entries) in; then the three removed; all by nobody.
    assert actions == [("delete", None), ("create", None), ("create", None),
                       ("delete", None), ("delete", None), ("delete", None)]
