"""A card's own time zone (issue 21: campaigns text in the client's day): set in the form, checked
against the list, shown again, audited; empty means "from the phone number"."""

from __future__ import annotations

from tests.helpers import login, make_user


def _form(web, **data) -> dict:
    return {"csrf_token": web.cookies["pbxcrm_csrf"], "kind": "client", "status": "active", **data}


async def test_the_card_form_keeps_a_time_zone_from_the_list(web, db):
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    r = web.post("/counterparties/new", data=_form(web, last_name="Orlov", timezone="Asia/Vladivostok",
                                                   phones="+7 916 555-00-01"), follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        cid, zone = await conn.fetchrow("SELECT id, timezone FROM counterparties WHERE last_name = 'Orlov'")
    assert zone == "Asia/Vladivostok"
    assert '<option value="Asia/Vladivostok" selected>' in web.get(f"/counterparties/{cid}/edit").text

    bad = web.post(f"/counterparties/{cid}/edit", data=_form(web, last_name="Orlov", timezone="Mars/Olympus"))
    assert bad.status_code == 400 and "is not a time zone on the list" in bad.text
    r = web.post(f"/counterparties/{cid}/edit", data=_form(web, last_name="Orlov", timezone=""),
                 follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT timezone FROM counterparties WHERE id = $1", cid) is None
        change = await conn.fetchval("SELECT changes::text FROM audit_log WHERE entity = 'counterparty' "
                                     "AND entity_id = $1 AND action = 'update' ORDER BY id DESC LIMIT 1", cid)
    assert "Asia/Vladivostok" in change
