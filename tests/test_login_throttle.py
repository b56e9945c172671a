"""Login throttling per login and per address, shared through PostgreSQL (issue 12)."""

import json

import pytest
from starlette.testclient import TestClient

from crm.users import throttle
from tests.helpers import LOCKED_FOR_A_MINUTE, PASSWORD, csrf_from, login, make_user
from web.app import create_app


@pytest.fixture
def slow_policies(monkeypatch):
    """A minute's wait after the free failures, so no test races the clock."""
    monkeypatch.setattr(throttle, "LOGIN", throttle.Policy(free_failures=5, base_delay=60))
    monkeypatch.setattr(throttle, "ADDRESS", throttle.Policy(free_failures=8, base_delay=60, forget_after=3600))


def _client(settings, address="192.0.2.10"):
    return TestClient(create_app(settings), base_url="http://testserver", client=(address, 40000))


async def test_five_wrong_passwords_lock_the_login_even_for_the_right_one_in_every_worker(db, settings,
                                                                                         slow_policies):
    await make_user(db, "petrov")
    with _client(settings) as one, _client(settings, "192.0.2.11") as other:
        for _ in range(5):
            r = login(one, "petrov", "wrong password")
            assert r.status_code == 400 and "Wrong login or password" in r.text
        # Another worker process (another app, its own pool) sees the same count.
        r = login(other, "petrov", PASSWORD)
        assert r.status_code == 429
        assert LOCKED_FOR_A_MINUTE.search(r.text)
        assert r.headers["retry-after"] in ("59", "60")
        assert other.get("/calls", follow_redirects=False).status_code == 302
        r = login(one, "PETROV", PASSWORD)  # logins are case-insensitive, so is their lock
        assert r.status_code == 429
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT failures FROM login_failures WHERE scope = 'login' AND key = 'petrov'") == 5


async def test_a_login_that_does_not_exist_is_locked_alike(db, settings, slow_policies):
    with _client(settings) as c:
        for _ in range(5):
            assert login(c, "nobody", "wrong password").status_code == 400
        r = login(c, "nobody", "wrong password")
        assert r.status_code == 429 and LOCKED_FOR_A_MINUTE.search(r.text)


async def test_a_successful_login_clears_the_count_of_that_login(db, settings, slow_policies):
    await make_user(db, "sidorov")
    with _client(settings) as c:
        for _ in range(3):
            assert login(c, "sidorov", "wrong password").status_code == 400
        assert login(c, "sidorov").status_code == 303
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM login_failures WHERE scope = 'login'") == 0
        # Without the reset, this would be the sixth failure in a row and the next try locked.
        for _ in range(3):
            assert login(c, "sidorov", "wrong password").status_code == 400
        assert login(c, "sidorov").status_code == 303


async def test_one_address_trying_many_logins_is_slowed_down(db, settings, slow_policies):
    await make_user(db, "kozlov")
    with _client(settings, "198.51.100.20") as sprayer, _client(settings, "198.51.100.21") as colleague:
        for i in range(8):
            assert login(sprayer, f"guess{i}", "Summer2024!").status_code == 400
        r = login(sprayer, "kozlov")
        assert r.status_code == 429
        assert "Too many failed attempts from your address; try again in 1 minute" in r.text
        # The login itself is not locked: from elsewhere it works.
        assert login(colleague, "kozlov").status_code == 303


async def test_json_clients_are_told_until_when(db, settings, slow_policies):
    await make_user(db, "orlov")
    with _client(settings) as c:
        token = csrf_from(c.get("/login").text)
        headers = {"accept": "application/json", "x-csrf-token": token}
        for _ in range(5):
            r = c.post("/login", data={"login": "orlov", "password": "wrong password"}, headers=headers)
            assert r.status_code == 400 and r.json() == {"error": "Wrong login or password"}
        r = c.post("/login", data={"login": "orlov", "password": PASSWORD}, headers=headers)
        assert r.status_code == 429
        body = r.json()
        assert LOCKED_FOR_A_MINUTE.fullmatch(body["error"])
        assert 55 <= body["retry_after"] <= 60 and body["locked_until"].endswith("+00:00")


async def test_logins_failed_and_successful_are_audited_with_the_address(db, settings):
    user = await make_user(db, "volkov")
    with _client(settings, "203.0.113.5") as c:
        assert login(c, "volkov", "wrong password").status_code == 400
        assert login(c, "ghost", "wrong password").status_code == 400
        assert login(c, "volkov").status_code == 303
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT user_id, entity_id, action, changes, host(address) AS address FROM audit_log "
                                "WHERE entity = 'user' AND action LIKE 'login%' ORDER BY id")
    got = [(r["user_id"], r["entity_id"], r["action"], json.loads(r["changes"]), r["address"]) for r in rows]
    assert got == [
        (None, user["id"], "login_failed", {"login": [None, "volkov"]}, "203.0.113.5"),
        (None, None, "login_failed", {"login": [None, "ghost"]}, "203.0.113.5"),
        (user["id"], user["id"], "login", {"login": [None, "volkov"]}, "203.0.113.5"),
    ]


async def test_odd_login_text_is_refused_not_a_server_error(db, settings):
    with _client(settings) as c:
        for name in ("nul\x00byte", "x" * 5000, "петров"):
            r = login(c, name, "wrong password")
            assert r.status_code == 400, name
