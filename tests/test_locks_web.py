"""Locked logins for the admin to see and lift, and a password change forced by an admin's
reset (issue 17), over HTTP in-process."""

from __future__ import annotations

import contextlib

import pytest
from starlette.testclient import TestClient

from crm.users import throttle
from tests.helpers import PASSWORD, login, make_user
from web.app import create_app

NEW = "a brand new secret 42"


@pytest.fixture
def slow_policies(monkeypatch):
    """A minute's wait after the free failures, so no test races the clock."""
    monkeypatch.setattr(throttle, "LOGIN", throttle.Policy(free_failures=5, base_delay=60))
    monkeypatch.setattr(throttle, "ADDRESS", throttle.Policy(free_failures=8, base_delay=60, forget_after=3600))


@contextlib.contextmanager
def client_at(settings, address: str):
    with TestClient(create_app(settings), base_url="http://testserver", client=(address, 5000)) as c:
        yield c


def _csrf(c: TestClient) -> str:
    return c.cookies["pbxcrm_csrf"]


async def test_an_admin_sees_a_locked_login_and_lifts_it(db, settings, slow_policies):
    await make_user(db, "anna", "admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    with client_at(settings, "203.0.113.5") as admin, client_at(settings, "198.51.100.7") as c:
        login(admin, "anna")
        assert "Nothing is locked." in admin.get("/admin/locks").text
        for _ in range(5):
            assert login(c, "petrov", "wrong password").status_code == 400
        assert login(c, "petrov").status_code == 429
        page = admin.get("/admin/locks")
        assert page.status_code == 200
        assert "login petrov (Pavel Petrov)" in page.text and "in 1 minute" in page.text
        [item] = admin.get("/admin/locks", headers={"accept": "application/json"}).json()["items"]
        assert (item["scope"], item["key"], item["failures"], item["user_id"]) == ("login", "petrov", 5, petrov["id"])
        assert 55 <= item["wait_seconds"] <= 60
        r = admin.post("/admin/locks/lift", data={"csrf_token": _csrf(admin), "scope": "login", "key": "petrov"},
                       follow_redirects=False)
        assert r.status_code == 303
        lifted = admin.get(r.headers["location"])
        assert "The lock is lifted" in lifted.text and "Nothing is locked." in lifted.text
        assert login(c, "petrov").status_code == 303
        # Gone already: said so, nothing else happens.
        r = admin.post("/admin/locks/lift", json={"scope": "login", "key": "petrov"},
                       headers={"x-csrf-token": _csrf(admin), "accept": "application/json"})
        assert r.status_code == 404 and "is not locked" in r.json()["error"]
        r = admin.post("/admin/locks/lift", data={"csrf_token": _csrf(admin), "scope": "nonsense", "key": "x"})
        assert r.status_code == 400
    async with db.acquire() as conn:
        audit = await conn.fetch("SELECT user_id, entity_id, changes FROM audit_log WHERE entity = 'login_lock'")
    assert len(audit) == 1 and audit[0]["entity_id"] == petrov["id"]
    assert '"failures": [5, 0]' in audit[0]["changes"]


async def test_a_locked_address_is_listed_and_lifted_and_operators_may_not(db, settings, slow_policies):
    await make_user(db, "anna", "admin")
    await make_user(db, "kozlov", "operator")
    with client_at(settings, "203.0.113.5") as admin, client_at(settings, "198.51.100.20") as sprayer:
        login(admin, "anna")
        for i in range(8):
            login(sprayer, f"guess{i}", "Summer2024!")
        assert login(sprayer, "kozlov").status_code == 429
        items = admin.get("/admin/locks", headers={"accept": "application/json"}).json()["items"]
        assert [(i["scope"], i["key"]) for i in items] == [("address", "198.51.100.20")]
        r = admin.post("/admin/locks/lift", json={"scope": "address", "key": "198.51.100.20"},
                       headers={"x-csrf-token": _csrf(admin), "accept": "application/json"})
        assert r.status_code == 200 and r.json()["failures"] == 8
        assert login(sprayer, "kozlov").status_code == 303
        assert sprayer.get("/admin/locks").status_code == 403
        r = sprayer.post("/admin/locks/lift", data={"csrf_token": _csrf(sprayer), "scope": "address", "key": "x"})
        assert r.status_code == 403


async def test_an_admins_reset_can_force_a_new_password_at_the_next_login(db, settings):
    await make_user(db, "anna", "admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    given = "given by the admin 1"
    with client_at(settings, "203.0.113.5") as admin, client_at(settings, "198.51.100.7") as c:
        login(admin, "anna")
        r = admin.post(f"/admin/users/{petrov['id']}", data={
            "csrf_token": _csrf(admin), "full_name": "Pavel Petrov", "role": "operator", "password": given,
            "force_password_change": "on"}, follow_redirects=False)
        assert r.status_code == 303
        assert "must change their password at the next login" in admin.get(f"/admin/users/{petrov['id']}").text
        assert login(c, "petrov", given).status_code == 303
        # Every page leads to the change; the API and any write say why.
        r = c.get("/calls", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        page = c.get("/calls")
        assert "choose a new one of your own to go on" in page.text
        r = c.get("/api/calls")
        assert r.status_code == 403 and r.json()["error"] == "You must change your password before going on"
        r = c.post("/account", data={"csrf_token": _csrf(c), "language": "ru"}, follow_redirects=False)
        assert r.status_code == 403
        # A wrong current password, or the same one again: refused, nothing changed.
        for current, new in (("wrong password", NEW), (given, given)):
            r = c.post("/account/password", data={"csrf_token": _csrf(c), "current_password": current,
                                                   "new_password": new, "repeat_password": new})
            assert r.status_code == 400
        assert "the current password is wrong" in c.post("/account/password", data={
            "csrf_token": _csrf(c), "current_password": "wrong password", "new_password": NEW,
            "repeat_password": NEW}).text
        assert c.get("/calls", follow_redirects=False).status_code == 303
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT must_change_password FROM users WHERE id = $1", petrov["id"])
            assert await conn.fetchval("SELECT language FROM users WHERE id = $1", petrov["id"]) is None
        r = c.post("/account/password", data={"csrf_token": _csrf(c), "current_password": given,
                                               "new_password": NEW, "repeat_password": NEW}, follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/calls").status_code == 200
        assert c.get("/api/calls").status_code == 200
    async with db.acquire() as conn:
        assert not await conn.fetchval("SELECT must_change_password FROM users WHERE id = $1", petrov["id"])
        changes = [r["changes"] for r in await conn.fetch(
            "SELECT changes FROM audit_log WHERE entity_id = $1 AND action IN ('password_reset', 'password_change') "
            "ORDER BY id", petrov["id"])]
    assert '"must_change_password": [false, true]' in changes[0]
    assert '"must_change_password": [true, false]' in changes[-1]


async def test_a_reset_without_the_option_or_through_the_api(db, settings):
    await make_user(db, "anna", "admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    with client_at(settings, "203.0.113.5") as admin, client_at(settings, "198.51.100.7") as c:
        login(admin, "anna")
        admin.post(f"/admin/users/{petrov['id']}", data={
            "csrf_token": _csrf(admin), "full_name": "Pavel Petrov", "role": "operator", "password": NEW})
        assert login(c, "petrov", NEW).status_code == 303 and c.get("/calls").status_code == 200
        r = admin.post(f"/api/users/{petrov['id']}/password", json={"password": PASSWORD, "force_change": True},
                       headers={"x-csrf-token": _csrf(admin)})
        assert r.status_code == 200 and r.json()["must_change_password"] is True
        assert c.get("/calls", follow_redirects=False).status_code == 302  # the reset ended the session
        assert login(c, "petrov").status_code == 303
        assert c.get("/api/calls").status_code == 403
        r = admin.post(f"/api/users/{petrov['id']}/password", json={"password": PASSWORD, "force_change": "yes"},
                       headers={"x-csrf-token": _csrf(admin)})
        assert r.status_code == 400
