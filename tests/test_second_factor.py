"""The second factor over HTTP (issue 17, G4): setting it up in the account, the login's second step,
replayed and wrong codes, recovery codes, the throttle, roles that require it, the admin's reset,
and JSON clients."""

import json
import re
import time

import pyotp
from starlette.testclient import TestClient

from crm.second_factor import totp
from crm.users import throttle
from tests.helpers import PASSWORD, csrf_from, login, make_user
from web.app import create_app


def post(client: TestClient, url: str, data: dict | None = None, **kw):
    return client.post(url, data={**(data or {}), "csrf_token": client.cookies.get("pbxcrm_csrf", "")},
                       follow_redirects=False, **kw)


def next_code(secret: str) -> str:
    """The code of the next step: accepted (one step of drift), and never the one enrolment just spent."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def enrol(client: TestClient) -> tuple[str, list[str]]:
    """Set a second factor up from the account page of a logged-in client: the secret and the recovery codes."""
    assert post(client, "/account/second-factor/start").status_code == 303
    page = client.get("/account/second-factor")
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    r = post(client, "/account/second-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", r.text)
    return secret, codes


def code_step(client: TestClient, code: str):
    return post(client, "/login/second-factor", {"code": code})


async def audit_actions(db, user_id: int) -> list[str]:
    async with db.acquire() as conn:
        return [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = $1 ORDER BY id", user_id)]


async def test_set_up_in_the_account_then_log_in_with_a_code_and_a_replay_is_refused(db, web):
    user = await make_user(db, "petrov")
    login(web, "petrov")
    page = web.get("/account/second-factor")
    assert "Off." in page.text
    assert web.get("/account/second-factor/qr.svg").status_code == 404  # nothing being set up
    assert post(web, "/account/second-factor/start").status_code == 303
    qr = web.get("/account/second-factor/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    assert qr.headers["cache-control"] == "no-store" and b"<svg" in qr.content

    secret, codes = enrol(web)
    assert len(codes) == 10
    assert web.get("/account/second-factor/qr.svg").status_code == 404  # the secret is never shown again
    state = web.get("/account/second-factor").text
    assert "Recovery codes left: 10" in state and secret[:4] not in state

    web.post("/logout", data={"csrf_token": csrf_from(state)})
    r = login(web, "petrov")
    assert r.status_code == 303 and r.headers["location"] == "/login/second-factor"
    assert "pbxcrm_session" not in r.cookies  # no session before the code
    assert web.get("/calls", follow_redirects=False).headers["location"] == "/login/second-factor"
    page = web.get("/login/second-factor")
    assert page.status_code == 200 and 'name="code"' in page.text

    code = next_code(secret)
    r = code_step(web, code)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert web.get("/calls").status_code == 200

    # The same code again, within its window: refused with a clear message, no session opened.
    web.cookies.clear()
    login(web, "petrov")
    async with db.acquire() as conn:
        sessions = await conn.fetchval("SELECT count(*) FROM web_sessions")
        last_step = await conn.fetchval("SELECT last_step FROM user_totp")
    r = code_step(web, code)
    assert r.status_code == 400
    assert "This code has already been used" in r.text
    assert web.get("/calls", follow_redirects=False).status_code == 302
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM web_sessions") == sessions
        assert await conn.fetchval("SELECT last_step FROM user_totp") == last_step
    actions = await audit_actions(db, user["id"])
    assert actions.count("second_factor_passed") == 1 and "second_factor_enrolled" in actions
    async with db.acquire() as conn:
        failed = await conn.fetchval("SELECT changes FROM audit_log WHERE action = 'second_factor_failed'")
    assert json.loads(failed)["reason"] == [None, "replayed"]


async def test_a_wrong_code_is_refused_and_a_recovery_code_works_once(db, web):
    await make_user(db, "petrov")
    login(web, "petrov")
    secret, codes = enrol(web)
    web.cookies.clear()
    login(web, "petrov")
    good = {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in good)
    r = code_step(web, wrong)
    assert r.status_code == 400 and "Wrong code" in r.text
    r = code_step(web, "not a code")
    assert r.status_code == 400 and "Enter the 6-digit code" in r.text

    r = code_step(web, codes[3].upper())  # typed in capitals: the same code
    assert r.status_code == 303
    assert web.get("/account/second-factor").text.count("Recovery codes left: 9") == 1
    web.cookies.clear()
    login(web, "petrov")
    r = code_step(web, codes[3])
    assert r.status_code == 400 and "wrong or has already been used" in r.text
    assert code_step(web, codes[4]).status_code == 303


async def test_wrong_codes_lock_the_second_step_even_for_the_right_code(db, web, monkeypatch):
    monkeypatch.setattr(totp, "POLICY", throttle.Policy(free_failures=3, base_delay=60, forget_after=3600))
    await make_user(db, "petrov")
    login(web, "petrov")
    secret, _codes = enrol(web)
    web.cookies.clear()
    login(web, "petrov")
    good = {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30, 60)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in good)
    for _ in range(3):
        assert code_step(web, wrong).status_code == 400
    r = code_step(web, next_code(secret))
    assert r.status_code == 429 and "Too many wrong codes" in r.text
    assert r.headers["retry-after"] in ("59", "60")
    assert web.get("/calls", follow_redirects=False).status_code == 302


async def test_a_role_that_requires_it_sends_its_users_to_set_it_up_before_anything_else(db, web, settings):
    admin = await make_user(db, "boss", "admin")
    await make_user(db, "petrov", "operator")
    with TestClient(create_app(settings), base_url="http://testserver") as operator:
        login(operator, "petrov")
        assert operator.get("/calls").status_code == 200
        login(web, "boss")
        page = web.get("/admin/second-factor")
        assert page.status_code == 200 and "petrov" in page.text
        assert post(web, "/admin/second-factor/roles", {"roles": ["operator", "no-such-role"]}).status_code == 303
        async with db.acquire() as conn:
            assert json.loads(await conn.fetchval(
                "SELECT value FROM app_settings WHERE key = 'second_factor.roles'")) == ["operator"]
        assert "second_factor_roles" in [r["action"] for r in await db.fetch("SELECT action FROM audit_log")]
        # The operator without a second factor is logged out, and the next login sets one up first.
        assert operator.get("/calls", follow_redirects=False).status_code == 302
        r = login(operator, "petrov")
        assert r.headers["location"] == "/login/second-factor/enrol"
        assert operator.get("/calls", follow_redirects=False).status_code == 302
        assert operator.get("/login/second-factor", follow_redirects=False).headers["location"] == \
            "/login/second-factor/enrol"
        page = operator.get("/login/second-factor/enrol")
        assert "your role requires a second factor" in page.text
        assert operator.get("/login/second-factor/qr.svg").headers["content-type"] == "image/svg+xml"
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
        r = post(operator, "/login/second-factor/enrol", {"code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                                          else "111111"})
        assert r.status_code == 400 and "Wrong code" in r.text
        r = post(operator, "/login/second-factor/enrol", {"code": pyotp.TOTP(secret).now()})
        assert r.status_code == 200 and len(re.findall(r"<li><code>", r.text)) == 10
        assert operator.get("/calls").status_code == 200
        # It cannot be turned off while the role requires it.
        r = post(operator, "/account/second-factor/disable", {"password": PASSWORD})
        assert r.status_code == 400 and "Your role requires a second factor" in r.text
        # The admin's own session stayed; admins are not required: no second factor for them.
        assert web.get("/admin/second-factor").status_code == 200
        assert operator.get("/admin/second-factor").status_code == 403

        # A lost phone: the admin resets it, and the next login sets one up again.
        petrov = await db.fetchval("SELECT id FROM users WHERE login = 'petrov'")
        assert post(web, f"/admin/users/{petrov}/second-factor/reset").status_code == 303
        assert await db.fetchval("SELECT count(*) FROM user_totp") == 0
        assert await db.fetchval("SELECT count(*) FROM recovery_codes") == 0
        assert await db.fetchval("SELECT user_id FROM audit_log WHERE action = 'second_factor_reset'") == admin["id"]
        operator.cookies.clear()
        assert login(operator, "petrov").headers["location"] == "/login/second-factor/enrol"
        assert post(web, "/admin/users/99999/second-factor/reset").status_code == 404


async def test_turning_it_off_needs_a_code_or_the_password_and_new_recovery_codes_a_code(db, web):
    await make_user(db, "petrov")
    login(web, "petrov")
    secret, codes = enrol(web)
    r = post(web, "/account/second-factor/disable", {})
    assert r.status_code == 400 and "Enter a code from your app or your password" in r.text
    r = post(web, "/account/second-factor/disable", {"password": "not my password"})
    assert r.status_code == 400 and "The password is wrong" in r.text
    r = post(web, "/account/second-factor/recovery-codes", {"code": codes[0]})  # a recovery code will not do
    assert r.status_code == 400
    r = post(web, "/account/second-factor/recovery-codes", {"code": next_code(secret)})
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", r.text)
    assert r.status_code == 200 and len(new) == 10 and not set(new) & set(codes)
    assert await db.fetchval("SELECT count(*) FROM recovery_codes") == 10
    assert post(web, "/account/second-factor/disable", {"password": PASSWORD}).status_code == 303
    assert "The second factor is turned off." in web.get("/account/second-factor?done=off").text
    assert await db.fetchval("SELECT count(*) FROM user_totp") == 0
    web.cookies.clear()
    assert login(web, "petrov").headers["location"] == "/"


async def test_json_clients_get_401_until_the_second_factor_passes(db, web):
    await make_user(db, "petrov")
    login(web, "petrov")
    secret, _codes = enrol(web)
    web.cookies.clear()
    page = web.get("/login")
    r = web.post("/login", data={"login": "petrov", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
                 headers={"accept": "application/json"})
    assert r.status_code == 401
    assert r.json()["second_factor"] == "verify" and r.json()["url"] == "/login/second-factor"
    r = web.get("/api/calls")
    assert r.status_code == 401 and "second factor required" in r.json()["error"]
    r = post(web, "/login/second-factor", {"code": "12"}, headers={"accept": "application/json"})
    assert r.status_code == 400 and "6-digit" in r.json()["error"]
    r = post(web, "/login/second-factor", {"code": next_code(secret)}, headers={"accept": "application/json"})
    assert r.status_code == 200 and r.json()["login"] == "petrov" and r.json()["second_factor"] == "totp"
    assert web.get("/api/calls").status_code == 200


async def test_the_second_step_without_a_password_first_goes_back_to_the_login(db, web, web_app):
    routes = [(m, r.path) for r in web_app.routes if getattr(r, "path", "").startswith("/login/")
              for m in r.methods - {"HEAD"}]
    assert len(routes) == 5
    for pending in (None, "made-up"):
        if pending:
            web.cookies.set("pbxcrm_second_factor", pending)
        for method, path in routes:
            r = web.request(method, path, data={"code": "123456"} if method == "POST" else None,
                            headers={"x-csrf-token": web.cookies.get("pbxcrm_csrf") or csrf_from(web.get("/login").text)},
                            follow_redirects=False)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), (method, path)
    assert await db.fetchval("SELECT count(*) FROM web_sessions") == 0


async def test_the_pages_and_the_refusal_are_in_russian(db, web):
    """(In English, the other tests read them.)"""
    await make_user(db, "petrov")
    web.headers["accept-language"] = "ru"
    login(web, "petrov")
    assert "Второй фактор" in web.get("/account/second-factor").text
    secret, _codes = enrol(web)
    web.cookies.clear()
    login(web, "petrov")
    assert "введите код, который показывает приложение" in web.get("/login/second-factor").text
    code = next_code(secret)
    assert code_step(web, code).status_code == 303
    web.cookies.clear()
    login(web, "petrov")
    r = code_step(web, code)
    assert r.status_code == 400 and "Этот код уже использован" in r.text
