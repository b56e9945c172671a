"""Login, sessions and CSRF through the HTTP interface, in-process."""

import pytest

from tests.helpers import csrf_from, login, make_user


async def test_every_page_but_login_needs_a_session(web):
    page = web.get("/calls", follow_redirects=False)
    assert page.status_code == 302
    assert page.headers["location"] == "/login?next=%2Fcalls"
    assert web.get("/", follow_redirects=False).status_code == 302
    api = web.get("/api/calls")
    assert api.status_code == 401 and api.json() == {"error": "login required"}
    assert web.get("/login").status_code == 200


async def test_login_opens_the_calls_page_and_logout_closes_the_session(web, db):
    await make_user(db, "ivanova", "manager", full_name="Ivanova Anna")
    r = login(web, "ivanova")
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = web.get("/calls")
    assert page.status_code == 200 and "Ivanova Anna" in page.text
    assert web.get("/api/calls").json()["total"] == 0

    r = web.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert web.get("/calls", follow_redirects=False).status_code == 302


async def test_wrong_password_and_unknown_login_are_refused_alike(web, db):
    await make_user(db, "petrov")
    for name, password in [("petrov", "wrong password"), ("nobody", "whatever123")]:
        r = login(web, name, password)
        assert r.status_code == 400 and "Wrong login or password" in r.text
    assert web.get("/calls", follow_redirects=False).status_code == 302


async def test_login_is_case_insensitive_and_logins_are_unique(web, db):
    await make_user(db, "Sidorov")
    from crm.users.accounts import AccountError
    with pytest.raises(AccountError, match="taken"):
        await make_user(db, "sidorov")
    assert login(web, "SIDOROV").status_code == 303


async def test_post_without_csrf_token_is_refused(web, db):
    await make_user(db, "kozlov")
    web.get("/login")  # sets the CSRF cookie
    r = web.post("/login", data={"login": "kozlov", "password": "correct horse battery"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = web.post("/login", data={"login": "kozlov", "password": "correct horse battery",
                                    "csrf_token": "forged"})
    assert r.status_code == 403
    assert login(web, "kozlov").status_code == 303
    # Logged in, a token-less POST is still refused and the session survives.
    assert web.post("/logout").status_code == 403
    assert web.get("/calls").status_code == 200


async def test_cross_origin_post_is_refused_even_with_the_token(web, db):
    await make_user(db, "orlov")
    token = csrf_from(web.get("/login").text)
    r = web.post("/login", data={"login": "orlov", "password": "correct horse battery",
                                    "csrf_token": token}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403


async def test_blocked_user_cannot_log_in_and_loses_open_sessions(web, db):
    user = await make_user(db, "blocked")
    assert login(web, "blocked").status_code == 303
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET is_blocked = true WHERE id = $1", user["id"])
    assert web.get("/calls", follow_redirects=False).status_code == 302
    assert login(web, "blocked").status_code == 400


async def test_next_parameter_never_redirects_off_site(web, db):
    await make_user(db, "nextuser")
    page = web.get("/login?next=//evil.example/x")
    r = web.post("/login", data={"login": "nextuser", "password": "correct horse battery",
                                    "next": "//evil.example/x", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.headers["location"] == "/"


async def test_session_cookie_is_httponly_and_samesite(web, db):
    await make_user(db, "cookie")
    r = login(web, "cookie")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_calls_page_escapes_caller_names(web, db):
    await make_user(db, "esc")
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, caller_number, caller_name, started_at)
               VALUES ('x.1', 'incoming', '84951234567', '<script>alert(1)</script>', now())""")
    login(web, "esc")
    page = web.get("/calls").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_healthz_is_public(web):
    assert web.get("/healthz").json() == {"status": "ok"}
