"""The admin keeps the counterparty statuses (issue 20) through HTTP: add, rename, reorder, archive,
delete only an unused one; cards, forms, lists, filters and the import follow the list."""

from __future__ import annotations

import re

from tests.helpers import login, make_user


def _form(web, **data) -> dict:
    return {"csrf_token": web.cookies["pbxcrm_csrf"], **data}


async def _status_id(db, name: str) -> int:
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT id FROM counterparty_statuses WHERE name = $1 OR code = $1", name)


def _order(web) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)"', web.get("/admin/statuses").text)


async def test_the_admin_keeps_the_status_list(db, web):
    admin = await make_user(db, "adm", "admin")
    await make_user(db, "ivanova", "manager")
    login(web, "adm")
    assert _order(web) == ["active", "potential", "inactive", "archived"]
    assert web.post("/admin/statuses", data={"name": "Partner"}).status_code == 403  # no CSRF token
    r = web.post("/admin/statuses", data=_form(web, name="Partner"), follow_redirects=False)
    assert r.status_code == 303
    partner = await _status_id(db, "Partner")
    assert _order(web)[-1] == f"s{partner}"
    assert web.post("/admin/statuses", data=_form(web, name="partner")).status_code == 409
    assert web.post("/admin/statuses", data=_form(web, name="Potential")).status_code == 409  # a built-in's words
    assert web.post("/admin/statuses", data=_form(web, name=" ")).status_code == 400

    # Moved to the top, renamed: every list and form follows.
    web.post(f"/admin/statuses/{partner}/move", data=_form(web, steps="-10"))
    assert _order(web)[0] == f"s{partner}"
    web.post(f"/admin/statuses/{partner}", data=_form(web, name="Dealer"))
    form = web.get("/counterparties/new?kind=client").text
    assert re.search(rf'<option value="s{partner}"\s*>Dealer</option>', form)
    r = web.post("/counterparties/new", data=_form(web, kind="client", last_name="Belov", status=f"s{partner}"),
                 follow_redirects=False)
    assert r.status_code == 303
    belov = int(r.headers["location"].rsplit("/", 1)[1])
    assert "<strong>Dealer</strong>" in web.get(f"/counterparties/{belov}").text
    listed = web.get("/clients", params={"status": f"s{partner}"}).text
    assert "Belov" in listed and ">Dealer</td>" in listed
    assert web.get("/clients", params={"status": "nonsense"}).status_code == 400

    # In use: not deleted, archived instead; no longer offered, kept on Belov's card and his form.
    r = web.post(f"/admin/statuses/{partner}/delete", data=_form(web))
    assert r.status_code == 409 and "archive it instead" in r.text
    web.post(f"/admin/statuses/{partner}/archive", data=_form(web, archived="1"))
    assert f'value="s{partner}"' not in web.get("/counterparties/new?kind=client").text
    assert f'value="s{partner}"' in web.get(f"/counterparties/{belov}/edit").text
    r = web.post("/counterparties/new", data=_form(web, kind="client", last_name="Orlov", status=f"s{partner}"))
    assert r.status_code == 400 and "must be one of active, potential, inactive, archived" in r.text
    r = web.post(f"/counterparties/{belov}/edit", data=_form(web, kind="client", last_name="Belov", first_name="Ivan",
                                                             status=f"s{partner}"), follow_redirects=False)
    assert r.status_code == 303  # keeping the archived status it has
    # The default status is neither archived nor deleted.
    active = await _status_id(db, "active")
    assert web.post(f"/admin/statuses/{active}/archive", data=_form(web, archived="1")).status_code == 409
    assert web.post(f"/admin/statuses/{active}/delete", data=_form(web)).status_code == 409

    # Unused: deleted.
    async with db.acquire() as conn:
        await conn.execute("UPDATE counterparties SET status = 'active'")
    assert web.post(f"/admin/statuses/{partner}/delete", data=_form(web), follow_redirects=False).status_code == 303
    assert f"s{partner}" not in _order(web)
    async with db.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'counterparty_status' AND entity_id = $1 ORDER BY id",
            partner)]
    assert actions[0] == "create" and "move" in actions and "update" in actions and actions[-1] == "delete"

    # Only the admin.
    web.cookies.clear()
    login(web, "ivanova")
    assert web.get("/admin/statuses").status_code == 403
    assert web.post("/admin/statuses", data=_form(web, name="Mine")).status_code == 403
    del admin


async def test_the_import_takes_a_status_by_its_words(db, web):
    from tests.helpers import upload, workbook

    admin = await make_user(db, "adm", "admin")
    login(web, "adm")
    web.post("/admin/statuses", data=_form(web, name="Partner"))
    partner = await _status_id(db, "Partner")
    content = workbook(["Last name", "Status"], [["Belov", "partner"], ["Orlov", "nonsense"], ["Popov", ""]])
    result = upload(web, content)
    assert result["status"] == "done", result
    assert [(r["row"], "'nonsense'" in r["reason"]) for r in result["rejected"]] == [(3, True)]
    async with db.acquire() as conn:
        rows = dict(await conn.fetch("SELECT last_name, status FROM counterparties"))
    assert rows == {"Belov": f"s{partner}", "Popov": "active"}
    del admin
