"""Dial rules, dial strings and follow me through the web (issue 15): the admin's pages
/admin/dial-rules and the user form, the user's own account page; rights, CSRF, audit, Russian."""

from __future__ import annotations

import json

from crm.dialing import queries as dialing_q
from crm.dialing.model import FollowMe
from tests.helpers import login, make_user

RUSSIAN = {"Accept-Language": "ru"}


def _rule(web, token: str, path: str = "/admin/dial-rules", **fields):
    data = {"csrf_token": token, "position": "10", "pattern": "+7XXXXXXXXXX", "strip": "2", "prepend": "8",
            "trunk": "", "note": "Russia", **fields}
    return web.post(path, data=data, follow_redirects=False)


async def _audit(db, entity: str) -> list[tuple[str, dict]]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT action, changes FROM audit_log WHERE entity = $1 ORDER BY id", entity)
    return [(r["action"], json.loads(r["changes"])) for r in rows]


async def test_an_admin_adds_edits_tries_and_deletes_a_dial_rule(web, db):
    admin = await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    assert 'href="/admin/dial-rules"' in web.get("/clients").text  # in the admin's navigation
    assert _rule(web, token).status_code == 303
    assert _rule(web, token, position="20", pattern="810.", strip="3", prepend="00", trunk="trunk2",
                 note="").status_code == 303
    async with db.acquire() as conn:
        first, second = await dialing_q.list_rules(conn)
    assert (first.pattern, first.strip, first.prepend, first.trunk, first.note) == ("+7XXXXXXXXXX", 2, "8", None,
                                                                                   "Russia")
    assert (second.pattern, second.trunk) == ("810.", "trunk2")
    page = web.get("/admin/dial-rules").text
    assert '<td data-label="Pattern"><a href="/admin/dial-rules/%d"><code>+7XXXXXXXXXX</code></a></td>' % first.id \
        in page
    assert '<td data-label="Trunk">default (trunk)</td>' in page and '<td data-label="Trunk">trunk2</td>' in page

    tried = web.get("/admin/dial-rules", params={"number": "+7 (495) 123-45-67"}).text
    assert "+74951234567 is dialled as 84951234567 through trunk (rule +7XXXXXXXXXX)." in tried
    tried = web.get("/admin/dial-rules", params={"number": "0911"}).text
    assert "No rule matches 0911: it is dialled as it is through trunk." in tried

    # Edited: the form shows the rule, the change is saved and audited field by field.
    assert 'value="+7XXXXXXXXXX"' in web.get(f"/admin/dial-rules/{first.id}").text
    assert _rule(web, token, f"/admin/dial-rules/{first.id}", position="30", trunk="trunk2").status_code == 303
    async with db.acquire() as conn:
        assert [r.pattern for r in await dialing_q.list_rules(conn)] == ["810.", "+7XXXXXXXXXX"]  # by order now
    r = web.post(f"/admin/dial-rules/{second.id}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        assert [r.id for r in await dialing_q.list_rules(conn)] == [first.id]
        assert await conn.fetchval("SELECT user_id FROM audit_log WHERE entity = 'dial_rule' LIMIT 1") == admin["id"]
    assert [a for a, _ in await _audit(db, "dial_rule")] == ["create", "create", "update", "delete"]
    assert (await _audit(db, "dial_rule"))[2][1] == {"position": [10, 30], "trunk": [None, "trunk2"]}


async def test_a_rule_that_leaves_nothing_to_dial_is_refused_next_to_its_field(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    r = _rule(web, token, strip="12", prepend="")
    assert r.status_code == 400
    assert ('<span class="error field-error" id="error-strip">this rule would leave nothing to dial: it matches '
            'numbers of 12 characters, strips 12 and prepends nothing</span>') in r.text
    assert 'value="12"' in r.text and 'aria-invalid="true" aria-describedby="error-strip"' in r.text  # as typed
    r = _rule(web, token, pattern="8&SIP/evil")
    assert r.status_code == 400 and 'id="error-pattern"' in r.text
    async with db.acquire() as conn:
        assert await dialing_q.list_rules(conn) == []


async def test_only_admins_change_dial_rules_and_every_change_needs_the_csrf_token(web, db):
    await make_user(db, "op", "operator")
    await make_user(db, "adm", "admin")
    login(web, "op")
    token = web.cookies["pbxcrm_csrf"]
    assert web.get("/admin/dial-rules").status_code == 403
    assert _rule(web, token).status_code == 403
    assert 'href="/admin/dial-rules"' not in web.get("/clients").text
    login(web, "adm")
    r = web.post("/admin/dial-rules", data={"pattern": "8.", "prepend": "8"}, follow_redirects=False)
    assert r.status_code == 403
    async with db.acquire() as conn:
        assert await dialing_q.list_rules(conn) == []


async def test_the_dial_rules_page_in_russian(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    _rule(web, token)
    page = web.get("/admin/dial-rules", headers=RUSSIAN, params={"number": "84951234567"}).text
    assert "<h1>Правила набора</h1>" in page and '<td data-label="Шаблон">' in page
    assert "84951234567 набирается как 84951234567 через trunk (правило +7XXXXXXXXXX)." in page
    r = _rule(web, token, strip="12", prepend="")
    r = web.post("/admin/dial-rules", headers=RUSSIAN, data={"csrf_token": token, "pattern": "+7XXXXXXXXXX",
                                                              "strip": "12"})
    assert "правило оставит пустой номер" in r.text


async def test_the_admin_sets_where_a_users_phone_rings_and_follow_me(web, db):
    await make_user(db, "adm", "admin")
    kozlov = await make_user(db, "kozlov", "manager", full_name="Oleg Kozlov", extension="1001")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    form = {"csrf_token": token, "full_name": "Oleg Kozlov", "role": "manager", "extension": "1001", "email": "",
            "dial": "sip/1001", "mobile": "8 916 123-45-67", "follow_me_seconds": "10"}
    r = web.post(f"/admin/users/{kozlov['id']}", data=form, follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT dial, mobile, follow_me_seconds FROM users WHERE id = $1", kozlov["id"])
        dialing = await dialing_q.load(conn)
    assert dict(row) == {"dial": "SIP/1001", "mobile": "+79161234567", "follow_me_seconds": 10}
    assert dialing.dial_of("1001") == "SIP/1001" and dialing.follow_me_of(kozlov["id"]) == FollowMe("+79161234567", 10)
    page = web.get(f"/admin/users/{kozlov['id']}").text
    assert 'name="dial" value="SIP/1001"' in page and 'value="+79161234567"' in page
    assert "1001 <small>SIP/1001</small>" in web.get("/admin/users").text
    assert (await _audit(db, "user"))[-1] == ("phone", {"dial": [None, "SIP/1001"], "mobile": [None, "+79161234567"],
                                                        "follow_me_seconds": [None, 10]})

    for field, value, message in [("dial", "PJSIP/1001&PJSIP/102", "a dial string is a technology"),
                                  ("dial", "Local/1001", "a Local channel names its context"),
                                  ("mobile", "102", "a mobile is a full phone number"),
                                  ("follow_me_seconds", "2", "the desk rings 5 to 120 seconds")]:
        r = web.post(f"/admin/users/{kozlov['id']}", data={**form, field: value}, follow_redirects=False)
        assert r.status_code == 400 and message in r.text, field
    r = web.post(f"/admin/users/{kozlov['id']}", data={**form, "extension": "", "full_name": "Changed"},
                 follow_redirects=False)
    assert r.status_code == 400 and "give the extension too" in r.text
    async with db.acquire() as conn:  # nothing of a refused form is saved
        row = await conn.fetchrow("SELECT full_name, dial, extension FROM users WHERE id = $1", kozlov["id"])
    assert dict(row) == {"full_name": "Oleg Kozlov", "dial": "SIP/1001", "extension": "1001"}

    r = web.post(f"/admin/users/{kozlov['id']}", data={**form, "dial": "", "mobile": "", "follow_me_seconds": ""},
                 follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        dialing = await dialing_q.load(conn)
    assert dialing.dial_of("1001") == "PJSIP/1001" and dialing.follow_me_of(kozlov["id"]) is None


async def test_a_user_sets_their_own_mobile_and_follow_me_on_the_account_page(web, db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    login(web, "ivanova")
    token = web.cookies["pbxcrm_csrf"]
    page = web.get("/account", headers=RUSSIAN).text
    assert "<h2>Переадресация на мобильный</h2>" in page and 'name="follow_me_seconds"' in page
    r = web.post("/account/follow-me", data={"csrf_token": token, "mobile": "", "follow_me_seconds": "15"})
    assert r.status_code == 400
    assert '<span class="error field-error" id="error-mobile">a mobile number is needed to follow calls there' in r.text
    assert 'name="follow_me_seconds" type="number" min="5" max="120" value="15"' in r.text  # as typed
    r = web.post("/account/follow-me", data={"csrf_token": token, "mobile": "+7 916 765-43-21",
                                             "follow_me_seconds": "15"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?saved=1"
    assert 'value="+79167654321"' in web.get("/account").text
    async with db.acquire() as conn:
        dialing = await dialing_q.load(conn)
    assert dialing.follow_me_of(ivanova["id"]) == FollowMe("+79167654321", 15)
    assert (await _audit(db, "user"))[-1] == ("follow_me", {"mobile": [None, "+79167654321"],
                                                            "follow_me_seconds": [None, 15]})
    r = web.post("/account/follow-me", data={"mobile": "+79160000000"}, follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
