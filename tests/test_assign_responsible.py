"""Giving clients away (issue 12): creating and importing follow the rule editing enforces -
managers and operators make themselves responsible or nobody; supervisors and admins anyone."""


import pytest

from tests.helpers import csrf_from, login, make_user, upload, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def people(db):
    return {name: await make_user(db, name, role) for name, role in (
        ("alice", "manager"), ("boris", "manager"), ("olga", "operator"), ("sveta", "supervisor"))}


def _as(web, login_name):
    web.cookies.clear()
    login(web, login_name)
    return {"x-csrf-token": web.cookies["pbxcrm_csrf"]}


async def _responsible_of(db, last_name):
    async with db.acquire() as conn:
        return await conn.fetch("SELECT responsible_user_id FROM counterparties WHERE last_name = $1", last_name)


async def test_creating_through_the_api_gives_a_client_only_to_oneself_unless_supervisor(web, db, people):
    alice, boris = people["alice"]["id"], people["boris"]["id"]
    h = _as(web, "boris")
    r = web.post("/api/counterparties", json={"kind": "client", "last_name": "Gift", "responsible_user_id": alice},
                 headers=h)
    assert r.status_code == 403, r.text
    assert "another manager" in r.text
    assert await _responsible_of(db, "Gift") == []
    r = web.post("/api/counterparties", json={"kind": "client", "last_name": "Own", "responsible_user_id": boris},
                 headers=h)
    assert r.status_code == 201 and r.json()["responsible_user_id"] == boris
    h = _as(web, "olga")
    r = web.post("/api/counterparties", json={"kind": "client", "last_name": "Gift", "responsible_user_id": alice},
                 headers=h)
    assert r.status_code == 403
    assert await _responsible_of(db, "Gift") == []
    h = _as(web, "sveta")
    r = web.post("/api/counterparties", json={"kind": "client", "last_name": "Gift", "responsible_user_id": alice},
                 headers=h)
    assert r.status_code == 201 and r.json()["responsible_user_id"] == alice


async def test_creating_through_the_form_gives_a_client_only_to_oneself(web, db, people):
    alice, boris = people["alice"]["id"], people["boris"]["id"]
    _as(web, "boris")
    token = csrf_from(web.get("/counterparties/new?kind=client").text)
    r = web.post("/counterparties/new", data={"csrf_token": token, "kind": "client", "last_name": "Gift",
                                              "status": "active", "responsible_user_id": str(alice)},
                 follow_redirects=False)
    assert r.status_code == 403
    assert "another manager" in r.text and 'name="last_name"' in r.text  # the form again, with the reason
    assert await _responsible_of(db, "Gift") == []
    r = web.post("/counterparties/new", data={"csrf_token": token, "kind": "client", "last_name": "Own",
                                              "status": "active", "responsible_user_id": str(boris)},
                 follow_redirects=False)
    assert r.status_code == 303
    assert [x["responsible_user_id"] for x in await _responsible_of(db, "Own")] == [boris]


async def test_importing_names_only_managers_the_importer_may_assign(web, db, people):
    content = workbook(["Фамилия", "Имя", "Телефон", "Менеджер"], [
        ["Gift", "Ivan", "8 916 000-00-01", "alice"],
        ["Own", "Petr", "8 916 000-00-02", "boris"],
        ["Nobodys", "Anna", "8 916 000-00-03", None],
    ])
    job = upload(web, content, headers=_as(web, "boris"))
    assert job["status"] == "done" and job["applied"] == 2, job
    assert job["rejected"] == [{"row": 2, "reason": "you may not make 'alice' responsible: "
                                                   "only supervisors and admins give clients to another manager"}]
    assert await _responsible_of(db, "Gift") == []
    assert [x["responsible_user_id"] for x in await _responsible_of(db, "Own")] == [people["boris"]["id"]]
    assert [x["responsible_user_id"] for x in await _responsible_of(db, "Nobodys")] == [None]
    # A supervisor's import gives clients to whomever the file says.
    job = upload(web, content, headers=_as(web, "sveta"))
    assert job["applied"] == 1 and [r["row"] for r in job["rejected"]] == [3, 4], job  # 3, 4: numbers now taken
    assert [x["responsible_user_id"] for x in await _responsible_of(db, "Gift")] == [people["alice"]["id"]]
