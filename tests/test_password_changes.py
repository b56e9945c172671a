"""Password resets end sessions, users change their own, weak passwords are refused (issue 12)."""

import json
import os
import subprocess
import sys

from starlette.testclient import TestClient

from crm.users import throttle
from tests.helpers import LOCKED_FOR_A_MINUTE, PASSWORD, csrf_from, login, make_user
from web.app import create_app

NEW_PASSWORD = "a new and long passphrase"


def _client(settings, address="192.0.2.30"):
    # An app of its own for each client, as each worker process has.
    return TestClient(create_app(settings), base_url="http://testserver", client=(address, 41000))


def _pbxcrm(database_url, *args):
    return subprocess.run([sys.executable, "-m", "pbxcrm", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, DATABASE_URL=database_url))


def _logged_out(client) -> bool:
    r = client.get("/calls", follow_redirects=False)
    return r.status_code == 302 and r.headers["location"].startswith("/login")


async def test_an_admin_reset_in_the_form_ends_the_users_sessions(db, settings):
    await make_user(db, "admin", "admin")
    target = await make_user(db, "petrov")
    with _client(settings) as admin, _client(settings) as user:
        assert login(admin, "admin").status_code == 303 and login(user, "petrov").status_code == 303
        assert user.get("/calls").status_code == 200
        page = admin.get(f"/admin/users/{target['id']}")
        r = admin.post(f"/admin/users/{target['id']}", data={
            "full_name": "Petrov", "role": "operator", "password": NEW_PASSWORD,
            "csrf_token": csrf_from(page.text)}, follow_redirects=False)
        assert r.status_code == 303
        assert _logged_out(user)
        assert admin.get("/calls").status_code == 200  # the admin's own session stays
        assert login(user, "petrov").status_code == 400
        assert login(user, "petrov", NEW_PASSWORD).status_code == 303
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT user_id, changes FROM audit_log WHERE action = 'password_reset'")
    assert json.loads(row["changes"]) == {"password": ["***", "***"], "sessions_ended": [None, 1]}


async def test_an_admin_reset_through_the_api_ends_the_users_sessions(db, settings):
    admin_user = await make_user(db, "admin", "admin")
    target = await make_user(db, "sidorov")
    with _client(settings) as admin, _client(settings) as user:
        login(admin, "admin"), login(user, "sidorov")
        token = csrf_from(admin.get("/calls").text)
        url = f"/api/users/{target['id']}/password"
        r = admin.post(url, json={"password": "qwertyuiop"}, headers={"x-csrf-token": token})
        assert r.status_code == 400 and "most common passwords" in r.json()["error"]
        assert user.get("/calls").status_code == 200  # a refused reset changes nothing
        r = admin.post(url, json={"password": 12345678901}, headers={"x-csrf-token": token})
        assert r.status_code == 400 and "password" in r.json()["errors"]
        r = admin.post(url, json={"password": NEW_PASSWORD}, headers={"x-csrf-token": token})
        assert r.status_code == 200 and r.json() == {"id": target["id"], "sessions_ended": 1, "must_change_password": False}
        assert _logged_out(user)
        assert admin.post("/api/users/999999/password", json={"password": NEW_PASSWORD},
                          headers={"x-csrf-token": token}).status_code == 404
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT user_id FROM audit_log WHERE action = 'password_reset'") == admin_user["id"]


async def test_set_password_on_the_command_line_ends_the_users_sessions(db, settings, database_url):
    await make_user(db, "kozlov")
    with _client(settings) as user:
        assert login(user, "kozlov").status_code == 303
        weak = _pbxcrm(database_url, "set-password", "--login", "kozlov", "--password", "password1")
        assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
        assert user.get("/calls").status_code == 200
        r = _pbxcrm(database_url, "set-password", "--login", "kozlov", "--password", NEW_PASSWORD)
        assert r.returncode == 0 and "1 session(s) ended" in r.stdout, r.stderr
        assert _logged_out(user)


async def test_users_change_their_own_password_and_their_other_sessions_end(db, settings):
    await make_user(db, "orlov", full_name="Orlov Oleg")
    with _client(settings) as here, _client(settings, "192.0.2.31") as elsewhere:
        login(here, "orlov"), login(elsewhere, "orlov")
        calls = here.get("/calls").text
        assert 'href="/account"' in calls  # the nav leads to the account page, and it to the password's
        assert 'href="/account/password"' in here.get("/account").text
        page = here.get("/account/password")
        assert page.status_code == 200 and "<script>" not in page.text and " on" not in page.text.split("<form")[1]
        token = csrf_from(page.text)

        def change(current, new, repeat=None):
            return here.post("/account/password", data={
                "current_password": current, "new_password": new, "repeat_password": new if repeat is None else repeat,
                "csrf_token": token}, follow_redirects=False)

        for current, new, repeat, message in [
            ("wrong password", NEW_PASSWORD, None, "the current password is wrong"),
            (PASSWORD, NEW_PASSWORD, "something else entirely", "the new password and its repetition differ"),
            (PASSWORD, "iloveyou12", None, "one of the most common passwords"),
            (PASSWORD, "short", None, "at least 10 characters"),
            (PASSWORD, "Orlov Oleg", None, "must not be the login or the user&#39;s name"),
            ("", NEW_PASSWORD, None, "enter your current password"),
        ]:
            r = change(current, new, repeat)
            assert r.status_code == 400 and message in r.text, (new, r.text)
        assert here.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                     "repeat_password": NEW_PASSWORD}).status_code == 403  # no CSRF
        assert elsewhere.get("/calls").status_code == 200

        r = change(PASSWORD, NEW_PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/account/password?done=1"
        assert "Your password is changed" in here.get("/account/password?done=1").text
        assert here.get("/calls").status_code == 200  # this session stays
        assert _logged_out(elsewhere)
        assert login(elsewhere, "orlov").status_code == 400
        assert login(elsewhere, "orlov", NEW_PASSWORD).status_code == 303


async def test_the_current_password_is_throttled_like_a_login(db, settings, monkeypatch):
    monkeypatch.setattr(throttle, "LOGIN", throttle.Policy(free_failures=5, base_delay=60))
    await make_user(db, "volkov")
    with _client(settings) as c:
        login(c, "volkov")
        token = csrf_from(c.get("/account/password").text)
        form = {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD, "csrf_token": token}
        for _ in range(5):
            r = c.post("/account/password", data={**form, "current_password": "a guess at it"})
            assert r.status_code == 400
        r = c.post("/account/password", data={**form, "current_password": PASSWORD})
        assert r.status_code == 429
        assert LOCKED_FOR_A_MINUTE.search(r.text)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'password_change_failed'") == 5


async def test_weak_passwords_are_refused_when_an_admin_creates_a_user(db, settings):
    await make_user(db, "admin", "admin")
    with _client(settings) as admin:
        login(admin, "admin")
        token = csrf_from(admin.get("/admin/users").text)
        for password, message in [("short", "at least 10 characters"),
                                  ("1q2w3e4r5t", "one of the most common passwords"),
                                  ("novikov.nik", "must not be the login")]:
            r = admin.post("/admin/users", data={"login": "novikov.nik", "full_name": "Novikov", "role": "operator",
                                                 "password": password, "csrf_token": token})
            assert r.status_code == 400 and message in r.text, password
            r = admin.post("/api/users", json={"login": "novikov.nik", "full_name": "Novikov", "role": "operator",
                                               "password": password}, headers={"x-csrf-token": token})
            assert r.status_code == 400 and message in r.json()["error"], password
        r = admin.post("/api/users", json={"login": "novikov.nik", "full_name": "Novikov", "role": "operator",
                                           "password": NEW_PASSWORD}, headers={"x-csrf-token": token})
        assert r.status_code == 201


async def test_a_refused_reset_in_the_admin_form_saves_nothing(db, settings):
    await make_user(db, "admin", "admin")
    target = await make_user(db, "lebedev", full_name="Lebedev")
    with _client(settings) as admin:
        login(admin, "admin")
        token = csrf_from(admin.get(f"/admin/users/{target['id']}").text)
        r = admin.post(f"/admin/users/{target['id']}", data={
            "full_name": "Lebedev Lev", "role": "manager", "password": "password123", "csrf_token": token})
        assert r.status_code == 400 and "most common passwords" in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT role FROM users WHERE id = $1", target["id"]) == "operator"


def test_create_user_on_the_command_line_refuses_a_common_password(db, database_url):
    r = _pbxcrm(database_url, "create-user", "--login", "anna", "--name", "Anna", "--role", "manager",
                "--password", "qwerty123456")
    assert r.returncode == 1 and "one of the most common passwords" in r.stderr
    generated = _pbxcrm(database_url, "create-user", "--login", "anna", "--name", "Anna", "--role", "manager")
    assert generated.returncode == 0 and "created user anna" in generated.stdout, generated.stderr
