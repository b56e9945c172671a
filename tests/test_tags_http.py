"""Tags through HTTP (D1, D2; issue 20): made from a card, kept by the admin (edit, delete, audited,
CSRF), usable only by their roles, and several "with" and "without" tags on the lists and the deals report."""

from __future__ import annotations

import re

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.tags import TagInput, save_tag, set_tag
from tests.helpers import csrf_from, login, make_user


def _form(web, **data) -> dict:
    return {"csrf_token": web.cookies["pbxcrm_csrf"], **data}


async def _client(db, owner, last_name: str, **kw) -> int:
    async with db.acquire() as conn:
        return await service.create(conn, owner, CounterpartyInput(
            kind="client", last_name=last_name, responsible_user_id=owner["id"], **kw), "RU")


def _addresses(html: str) -> str:
    return html.split('<section class="addresses">', 1)[1].split("</section>", 1)[0]


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/counterparties/\d+">([^<]+)</a>', html.split('id="counterparties"', 1)[1])


async def test_a_manager_makes_a_tag_on_a_card_limited_to_roles(db, web):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    await make_user(db, "oleg", "operator")
    belov = await _client(db, ivanova, "Belov")
    login(web, "ivanova")
    card = web.get(f"/counterparties/{belov}").text
    assert 'id="new-tag-form"' in card
    r = web.post(f"/counterparties/{belov}/tags/new", data=_form(
        web, name="Wholesale", description="buys by the pallet", allowed_roles=["manager", "supervisor"]),
        follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        tag = await conn.fetchrow("SELECT id, description, allowed_roles FROM tags WHERE name = 'Wholesale'")
        assert (tag["description"], list(tag["allowed_roles"])) == ("buys by the pallet", ["manager", "supervisor"])
        assert await conn.fetchval("SELECT count(*) FROM counterparty_tags WHERE counterparty_id = $1 "
                                   "AND tag_id = $2", belov, tag["id"]) == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'tag' AND action = 'create'") == 1
    assert "Wholesale" in web.get(f"/counterparties/{belov}").text

    # A tag her own role could not use is refused on the card, and nothing is made.
    r = web.post(f"/counterparties/{belov}/tags/new", data=_form(web, name="Ops only", allowed_roles=["operator"]))
    assert r.status_code == 400 and "include your own role" in r.text and 'id="new-tag-form"' in r.text
    # A name that exists already, in any case.
    r = web.post(f"/counterparties/{belov}/tags/new", data=_form(web, name="wholesale"))
    assert r.status_code == 409 and "exists already" in r.text
    # Without the CSRF token: refused.
    assert web.post(f"/counterparties/{belov}/tags/new", data={"name": "NoToken"}).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tags") == 1

    # An operator is not offered the managers' tag and may not put it on a card.
    web.cookies.clear()
    login(web, "oleg")
    async with db.acquire() as conn:
        await conn.execute("UPDATE counterparties SET responsible_user_id = NULL WHERE id = $1", belov)
    card = web.get(f"/counterparties/{belov}").text
    assert f'<option value="{tag["id"]}">Wholesale' not in card
    r = web.post(f"/counterparties/{belov}/tags", data=_form(web, tag_id=str(tag["id"]), on="1"))
    assert r.status_code == 403


async def test_the_admin_edits_and_deletes_tags_audited(db, web):
    admin = await make_user(db, "adm", "admin")
    await make_user(db, "ivanova", "manager")
    belov = await _client(db, admin, "Belov")
    async with db.acquire() as conn:
        tag = await save_tag(conn, admin["id"], None, TagInput("Regular", "monthly"))
        await set_tag(conn, admin, "counterparty", belov, tag, on=True)
    login(web, "adm")
    page = web.get("/admin/tags").text
    assert f'action="/admin/tags/{tag}/delete"' in page and f'value="{tag}"' in page
    r = web.post("/admin/tags", data=_form(web, id=str(tag), name="Loyal", description="every month",
                                           allowed_roles=["manager"]), follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT name, description, allowed_roles FROM tags WHERE id = $1", tag)
        assert (row["name"], row["description"], list(row["allowed_roles"])) == ("Loyal", "every month", ["manager"])
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'tag' AND action = 'update'")
        assert '"Regular"' in changes and '"Loyal"' in changes
    assert "Loyal" in web.get("/admin/tags").text

    # Not without the token, not by a manager.
    assert web.post(f"/admin/tags/{tag}/delete", data={}).status_code == 403
    web.cookies.clear()
    login(web, "ivanova")
    assert web.post(f"/admin/tags/{tag}/delete", data=_form(web)).status_code == 403
    web.cookies.clear()
    login(web, "adm")
    r = web.post(f"/admin/tags/{tag}/delete", data=_form(web), follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tags") == 0
        assert await conn.fetchval("SELECT count(*) FROM counterparty_tags") == 0
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'tag' AND action = 'delete'")
        assert '"Loyal"' in changes and '"uses": [1, null]' in changes
    # The audit viewer reads the deletion.
    assert "Loyal" in web.get("/admin/audit", params={"entity": "tag", "id": str(tag)}).text
    assert web.post(f"/admin/tags/{tag}/delete", data=_form(web)).status_code == 404


async def test_several_with_and_without_tags_on_clients_companies_and_tasks(db, web):
    admin = await make_user(db, "adm", "admin")
    both, only_a, none = [await _client(db, admin, n) for n in ("Alpha", "Bravo", "Charlie")]
    async with db.acquire() as conn:
        companies = [await service.create(conn, admin, CounterpartyInput(
            kind="company", company_name=n, responsible_user_id=admin["id"]), "RU") for n in ("Delta", "Echo", "Foxtrot")]
        a = await save_tag(conn, admin["id"], None, TagInput("Aaa"))
        b = await save_tag(conn, admin["id"], None, TagInput("Bbb"))
        for cid, tag in ((both, a), (both, b), (only_a, a), (companies[0], a), (companies[0], b), (companies[1], a)):
            await set_tag(conn, admin, "counterparty", cid, tag, on=True)
        task_type = await conn.fetchval("SELECT id FROM task_types WHERE name = 'Task'")
        tasks = {}
        for title, cid in (("T-both", both), ("T-a", only_a), ("T-none", none)):
            tasks[title] = await conn.fetchval(
                "INSERT INTO tasks (title, type_id, status, responsible_user_id, counterparty_id) "
                "VALUES ($1, $2, 'new', $3, $4) RETURNING id", title, task_type, admin["id"], cid)
        for title, tag in (("T-both", a), ("T-both", b), ("T-a", a)):
            await set_tag(conn, admin, "task", tasks[title], tag, on=True)
    login(web, "adm")
    page = web.get("/clients").text
    assert re.search(r'<select name="tag" multiple', page) and re.search(r'<select name="notag" multiple', page)
    assert _names(web.get("/clients", params=[("tag", a), ("tag", b)]).text) == ["Alpha"]
    assert _names(web.get("/clients", params=[("tag", a)]).text) == ["Alpha", "Bravo"]
    assert _names(web.get("/clients", params=[("notag", a), ("notag", b)]).text) == ["Charlie"]
    assert _names(web.get("/clients", params=[("tag", a), ("notag", b)]).text) == ["Bravo"]
    page = web.get("/clients", params=[("tag", a), ("tag", b)]).text
    assert re.search(rf'<option value="{a}" selected', page) and re.search(rf'<option value="{b}" selected', page)
    # The companies' list shares the clients' code: the same filters over companies only.
    page = web.get("/companies").text
    assert re.search(r'<select name="tag" multiple', page) and re.search(r'<select name="notag" multiple', page)
    assert _names(page) == ["Delta", "Echo", "Foxtrot"]
    assert _names(web.get("/companies", params=[("tag", a), ("tag", b)]).text) == ["Delta"]
    assert _names(web.get("/companies", params=[("tag", a)]).text) == ["Delta", "Echo"]
    assert _names(web.get("/companies", params=[("notag", a), ("notag", b)]).text) == ["Foxtrot"]
    assert _names(web.get("/companies", params=[("tag", a), ("notag", b)]).text) == ["Echo"]
    page = web.get("/companies", params=[("tag", a), ("notag", b)]).text
    assert re.search(rf'<option value="{a}" selected', page.split('name="tag"')[1].split("</select>")[0])
    assert re.search(rf'<option value="{b}" selected', page.split('name="notag"')[1].split("</select>")[0])

    def task_titles(params) -> list[str]:
        html = web.get("/tasks", params=[("responsible", "all"), ("status", "all"), *params]).text
        return sorted(re.findall(r'<a href="/tasks/\d+">(T-[a-z]+)</a>', html))

    assert task_titles([("tag", a), ("tag", b)]) == ["T-both"]
    assert task_titles([("notag", a), ("notag", b)]) == ["T-none"]
    assert task_titles([("tag", a), ("notag", b)]) == ["T-a"]


async def test_addresses_added_shown_and_removed_through_http(db, web):
    ivanova = await make_user(db, "ivanova", "manager")
    await make_user(db, "petrov", "manager")
    belov = await _client(db, ivanova, "Belov")
    login(web, "ivanova")
    r = web.post(f"/counterparties/{belov}/addresses", data=_form(web, address="Tver, Lenina 5"),
                 follow_redirects=False)
    assert r.status_code == 303
    assert "Tver, Lenina 5" in _addresses(web.get(f"/counterparties/{belov}").text)
    async with db.acquire() as conn:
        address_id = await conn.fetchval("SELECT id FROM addresses WHERE counterparty_id = $1", belov)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'add address'") == 1
    # Another manager may neither add nor remove one on her card.
    web.cookies.clear()
    login(web, "petrov")
    assert web.post(f"/counterparties/{belov}/addresses", data=_form(web, address="x")).status_code == 403
    assert web.post(f"/counterparties/{belov}/addresses/{address_id}/delete", data=_form(web)).status_code == 403
    web.cookies.clear()
    login(web, "ivanova")
    assert web.post(f"/counterparties/{belov}/addresses", data=_form(web, address="")).status_code == 400
    r = web.post(f"/counterparties/{belov}/addresses/{address_id}/delete", data=_form(web), follow_redirects=False)
    assert r.status_code == 303
    assert "Tver, Lenina 5" not in _addresses(web.get(f"/counterparties/{belov}").text)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM addresses") == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'remove address'") == 1
    # The new card form's address is kept too.
    form = web.get("/counterparties/new?kind=client").text
    r = web.post("/counterparties/new", data={"csrf_token": csrf_from(form), "kind": "client", "last_name": "Orlov",
                                              "status": "active", "address": "Omsk, Mira 1"}, follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT address FROM addresses") == "Omsk, Mira 1"


async def test_a_clients_companies_show_their_remark(db, web):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        acme = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Acme",
                                                                   remark="call after noon"), "RU")
    belov = await _client(db, admin, "Belov", company_ids=(acme,))
    login(web, "adm")
    companies = web.get(f"/counterparties/{belov}").text.split('id="companies"', 1)[1].split("</ul>", 1)[0]
    assert "Acme</a> <span class=\"remark\">call after noon</span>" in companies
