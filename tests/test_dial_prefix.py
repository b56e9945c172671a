"""Click-to-call's dial prefix (H6, issue 20): the admin sets what the phones dial for an outside
line ("9"); every click-to-call number is requested so, and the dial rules see it as a desk phone's."""

from __future__ import annotations

from crm.dialing import queries as dialing_q
from crm.dialing.rules import RuleInput
from tests.call_flow_support import fake, no_recording, spec, start_app  # noqa: F401  (fixtures)
from tests.helpers import csrf_from, login, make_user


async def test_the_admin_sets_a_dial_prefix_and_click_to_call_requests_carry_it(db, web):
    await make_user(db, "adm", "admin")
    manager = await make_user(db, "mgr", "manager", extension="102")
    login(web, "adm")
    page = web.get("/admin/settings").text
    assert 'id="dial-prefix"' in page and 'name="dial_prefix" value=""' in page
    token = csrf_from(page)
    bad = web.post("/admin/settings/dialing", data={"csrf_token": token, "dial_prefix": "9a"})
    assert bad.status_code == 400 and "up to 10 digits, * or #" in bad.text and 'aria-invalid="true"' in bad.text
    assert web.post("/admin/settings/dialing", data={"dial_prefix": "9"}).status_code == 403  # no CSRF token
    r = web.post("/admin/settings/dialing", data={"csrf_token": token, "dial_prefix": "9"}, follow_redirects=False)
    assert r.status_code == 303
    assert 'name="dial_prefix" value="9"' in web.get("/admin/settings").text
    async with db.acquire() as conn:
        assert "dial_prefix" in await conn.fetchval(
            "SELECT changes FROM audit_log WHERE entity = 'settings' AND action = 'dial prefix'")

    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "mgr")
    # A manager cannot change it.
    assert web.post("/admin/settings/dialing", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                     "dial_prefix": ""}).status_code == 403
    r = web.post("/api/calls", json={"number": "8 (495) 123-45-67"}, headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 202, r.text
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT number, user_id FROM call_requests WHERE id = $1", r.json()["id"])
    assert tuple(row) == ("974951234567", manager["id"])


async def test_the_prefixed_number_goes_through_the_dial_rules_to_the_trunk(db, crm, fake, start_app):
    from crm import appsettings
    from crm.clicktocall import queries as c2c_q

    await no_recording(db)
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await appsettings.set_dial_prefix(conn, admin["id"], "9")
        # The PBX's rule for an outside line: 9 and a number, the 9 taken off for the trunk.
        await dialing_q.save_rule(conn, admin["id"], None, RuleInput(pattern="9.", strip=1, prepend="8"))
    await start_app()
    async with db.acquire() as conn:
        request_id = await c2c_q.request_call(conn, user=crm["ivanova"], number="+7 495 123-45-67",
                                              requested_by=crm["ivanova"]["id"], region="RU")
        assert (await c2c_q.get(conn, request_id))["number"] == "974951234567"
    user_leg = f"c2c-{request_id}"
    await fake.next_originate("PJSIP/102")
    await fake.answer(user_leg)
    dial = await fake.next_originate("PJSIP/874951234567@trunk")
    assert dial.query["appArgs"] == f"dialed,{user_leg}"
