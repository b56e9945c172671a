"""Issue 12 over HTTP: security headers on every page, the CSRF token never in a URL,
no GET that writes, no temporary file left behind by an import or an export."""

import os
import tempfile

import pytest

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.export import xlsx as export_xlsx
from crm.tasks import service as task_service
from crm.tasks.model import TaskInput
from tests.helpers import XLSX, csrf_from, import_job_result, login, make_user, workbook
from web.views import export as export_views

SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "SAMEORIGIN",  # framed by our own phone shell only (issue 19)
}


@pytest.fixture
def tmp_dir(tmp_path, monkeypatch):
    """Temporary files of the app go here, where the test can count them."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def _assert_security_headers(response, *, private: bool = True):
    csp = response.headers.get("content-security-policy", "")
    for part in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'self'",
                 "frame-ancestors 'self'", "form-action 'self'"):
        assert part in csp, (response.url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (response.url, name)
    if private:
        assert response.headers.get("cache-control") == "no-store", response.url


async def _main_paths(db, admin) -> list[str]:
    async with db.acquire() as conn:
        client = await service.create(conn, admin, CounterpartyInput(kind="client", last_name="Belov"), "RU")
        company = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
        type_id = await conn.fetchval("SELECT id FROM task_types ORDER BY id LIMIT 1")
        task = await task_service.create(conn, admin, TaskInput(title="Call back", type_id=type_id,
                                                                responsible_user_id=admin["id"]))
        queue = await conn.fetchval("SELECT id FROM queues WHERE is_default")
    return ["/clients", "/companies", f"/counterparties/{client}", f"/counterparties/{company}",
            "/counterparties/new?kind=client", f"/counterparties/{client}/edit", "/tasks", "/tasks/new",
            f"/tasks/{task}", "/calls", "/reports/calls", "/reports/deals", "/import", "/admin/users",
            f"/admin/users/{admin['id']}", "/admin/queues", f"/admin/queues/{queue}", "/admin/dial-rules", "/admin/tags",
            "/admin/task-types", "/admin/settings", "/api/clients", "/api/users", f"/api/counterparties/{client}",
            "/calls.xlsx", "/clients.xlsx", "/tasks.xlsx", "/admin/lines", "/admin/lines/new", "/reports/lines"]


async def test_every_page_carries_the_security_headers_and_is_not_stored(web, db):
    admin = await make_user(db, "adm", "admin")
    paths = await _main_paths(db, admin)
    public = web.get("/login")
    assert public.status_code == 200
    _assert_security_headers(public)  # the login page too (it holds the CSRF token)
    refused = web.get("/clients", follow_redirects=False)
    assert refused.status_code == 302
    _assert_security_headers(refused)
    login(web, "adm")
    for path in paths:
        r = web.get(path)
        assert r.status_code == 200, (path, r.status_code)
        _assert_security_headers(r)
    # A refusal by the CSRF check and a 404 carry them as well.
    _assert_security_headers(web.post("/clients", data={}))
    _assert_security_headers(web.get("/counterparties/999999"))
    # Static files may be cached, but are never sniffed into another type.
    static = web.get("/static/app.js")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    _assert_security_headers(static, private=False)


async def test_the_500_page_carries_the_headers_too(web_500, db, monkeypatch):
    await make_user(db, "adm", "admin")
    login(web_500, "adm")

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(export_views, "write_xlsx", broken)
    r = web_500.get("/clients.xlsx")
    assert r.status_code == 500
    _assert_security_headers(r)


# ---- CSRF token: body or header, never the query string ----

async def test_a_token_in_the_query_string_is_refused(web, db):
    await make_user(db, "boss", "supervisor")
    login(web, "boss")
    token = web.cookies["pbxcrm_csrf"]
    content = workbook(["Last name"], [["Petrov"]])
    r = web.post(f"/import?csrf_token={token}", files={"file": ("a.xlsx", content, XLSX)},
                 data={"kind": "counterparties", "mode": "valid"}, follow_redirects=False)
    assert r.status_code == 403
    r = web.post(f"/clients?csrf_token={token}", data={"x": "1"})
    assert r.status_code == 403
    r = web.post(f"/logout?csrf_token={token}", follow_redirects=False)
    assert r.status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM import_jobs") == 0
    # The import page's form carries the token in its body, not in its action.
    page = web.get("/import").text
    assert 'action="/import"' in page and "csrf_token=" not in page.split('id="import-form"')[0]
    assert csrf_from(page.split('id="import-form"')[1]) == token


async def test_a_multipart_import_with_the_token_in_the_body_or_header_works(web, db):
    await make_user(db, "boss", "supervisor")
    login(web, "boss")
    token = web.cookies["pbxcrm_csrf"]
    content = workbook(["Last name"], [["Petrov"], ["Sidorov"]])
    # As the browser sends the form: the hidden field first, then the rest, then the file.
    r = web.post("/import", files={"file": ("a.xlsx", content, XLSX)},
                 data={"csrf_token": token, "kind": "counterparties", "mode": "valid"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert import_job_result(web, int(r.headers["location"].rsplit("/", 1)[1]), timeout=30)["applied"] == 2
    # A script may send the header instead.
    r = web.post("/import", files={"file": ("b.xlsx", workbook(["Last name"], [["Orlov"]]), XLSX)},
                 data={"kind": "counterparties", "mode": "valid"}, headers={"X-CSRF-Token": token},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    # A wrong token in the body is refused.
    r = web.post("/import", files={"file": ("c.xlsx", content, XLSX)},
                 data={"csrf_token": token[:-2] + "xx", "kind": "counterparties"}, follow_redirects=False)
    assert r.status_code == 403


# ---- GET never writes: the timeline preference ----

async def test_a_get_with_kinds_shows_them_but_does_not_change_the_preference(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Lis"), "RU")
    login(web, "mgr")
    card = web.get(f"/counterparties/{client}").text
    r = web.post(f"/counterparties/{client}/timeline-kinds",
                 data={"csrf_token": csrf_from(card), "kinds": ["note", "call", ""]}, follow_redirects=False)
    assert r.status_code == 303

    async def stored():
        async with db.acquire() as conn:
            return await conn.fetchval("SELECT value FROM user_preferences WHERE user_id = $1 "
                                       "AND key = 'timeline.kinds'", mgr["id"])

    before = await stored()
    assert before is not None and "call" in before
    for query in ("?kinds=evil", "?kinds=", "?kinds=task"):
        page = web.get(f"/counterparties/{client}{query}").text
        assert await stored() == before, query
    # That view still filters by its query: only tasks were chosen, so only the task box is ticked.
    form = page.split('id="timeline-kinds"')[1].split("</form>")[0]
    assert 'value="task" checked' in form and 'value="call" checked' not in form
    # And the card without a query shows the stored choice.
    form = web.get(f"/counterparties/{client}").text.split('id="timeline-kinds"')[1].split("</form>")[0]
    assert 'value="call" checked' in form and 'value="task" checked' not in form
    assert 'method="post"' in web.get(f"/counterparties/{client}").text.split('id="timeline-kinds"')[0][-120:]


# ---- temporary files ----

async def test_a_refused_import_leaves_no_temporary_file(web, db, tmp_dir):
    await make_user(db, "boss", "supervisor")
    login(web, "boss")
    token = web.cookies["pbxcrm_csrf"]
    r = web.post("/import", files={"file": ("a.xlsx", b"name,phone\nIvan,1\n", XLSX)},
                 data={"csrf_token": token, "kind": "counterparties", "mode": "valid"}, follow_redirects=False)
    assert r.status_code == 303
    assert import_job_result(web, int(r.headers["location"].rsplit("/", 1)[1]), timeout=30)["status"] == "refused"
    assert os.listdir(tmp_dir) == []
    # Refused before any job starts: an unknown kind.
    r = web.post("/import", files={"file": ("a.xlsx", workbook(["Last name"], [["X"]]), XLSX)},
                 data={"csrf_token": token, "kind": "evil", "mode": "valid"}, follow_redirects=False)
    assert r.status_code == 400
    assert os.listdir(tmp_dir) == []


async def test_a_failed_export_leaves_no_temporary_file(web_500, db, tmp_dir, monkeypatch):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        for i in range(5):
            await service.create(conn, admin, CounterpartyInput(kind="client", last_name=f"C{i}"), "RU")
    login(web_500, "adm")
    ok = web_500.get("/clients.xlsx")
    assert ok.status_code == 200 and ok.headers["x-rows"] == "5"
    assert os.listdir(tmp_dir) == []  # a delivered export is removed once sent

    # Writing fails half-way (the disk filled up, say).
    original = export_xlsx.XlsxWriter.append

    def append_then_fail(self, records):
        original(self, records)
        raise OSError("No space left on device")

    monkeypatch.setattr(export_xlsx.XlsxWriter, "append", append_then_fail)
    assert web_500.get("/clients.xlsx").status_code == 500
    assert os.listdir(tmp_dir) == []
    monkeypatch.setattr(export_xlsx.XlsxWriter, "append", original)

    # The file is written but recording the export fails.
    async def audit_fails(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(export_views.audit, "record", audit_fails)
    for path in ("/clients.xlsx", "/tasks.xlsx", "/calls.xlsx", "/reports/deals.xlsx"):
        assert web_500.get(path).status_code == 500, path
        assert os.listdir(tmp_dir) == [], path
