"""Retention's admin form (issue 25) over HTTP: the admin sets the periods, wrong ones come back with their
messages, no CSRF token or a non-admin is refused."""

from __future__ import annotations

import json

from crm.retention import queries as q
from crm.retention.policy import RetentionPolicy
from tests.helpers import csrf_from, login, make_user


async def test_the_admin_sets_retention_and_wrong_periods_are_shown(db, web):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    page = web.get("/admin/settings").text
    assert 'id="retention"' in page and 'name="recordings_months" value=""' in page
    token = csrf_from(page)
    form = {"csrf_token": token, "recordings_months": "", "recordings_action": "delete", "calls_months": "12",
            "calls_action": "archive"}
    bad = web.post("/admin/settings/retention", data=form)
    assert bad.status_code == 400 and 'id="error-recordings_months"' in bad.text
    assert "recordings cannot be kept longer than their calls" in bad.text
    assert 'name="calls_months" value="12"' in bad.text, "what the admin typed comes back"
    bad = web.post("/admin/settings/retention", data={**form, "recordings_months": "24"})
    assert bad.status_code == 400 and 'id="error-calls_months"' in bad.text
    bad = web.post("/admin/settings/retention", data={**form, "recordings_months": "six"})
    assert bad.status_code == 400 and "a whole number of months" in bad.text
    async with db.acquire() as conn:
        assert await q.load_policy(conn) == RetentionPolicy()
    assert web.post("/admin/settings/retention", data={**form, "csrf_token": ""}).status_code == 403
    r = web.post("/admin/settings/retention", data={**form, "recordings_months": "6"}, follow_redirects=False)
    assert r.status_code == 303
    page = web.get("/admin/settings").text
    assert 'name="recordings_months" value="6"' in page and 'name="calls_months" value="12"' in page
    assert '<option value="archive" selected>' in page
    async with db.acquire() as conn:
        assert await q.load_policy(conn) == RetentionPolicy(6, "delete", 12, "archive")
        changes = json.loads(await conn.fetchval(
            "SELECT changes FROM audit_log WHERE entity = 'settings' AND action = 'retention'"))
    assert changes["calls_months"] == [None, 12]


async def test_russian_page_and_a_supervisor_is_refused(db, web):
    await make_user(db, "adm", "admin")
    await make_user(db, "sup", "supervisor")
    login(web, "adm")
    web.headers["Accept-Language"] = "ru"
    page = web.get("/admin/settings").text
    assert "Хранение записей и звонков" in page and "Хранить записи, месяцев" in page and "в архив" in page
    del web.headers["Accept-Language"]
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "sup")
    r = web.post("/admin/settings/retention", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                    "recordings_months": "1", "calls_months": "1"})
    assert r.status_code == 403
    async with db.acquire() as conn:
        assert await q.load_policy(conn) == RetentionPolicy()


async def test_a_runs_audit_entry_shows_on_the_audit_log_and_the_settings_page(db, web):
    await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await q.record_run(conn, {"recordings": 3, "calls": 2, "calls_before": "2025-11-15T12:00:00+00:00",
                                  "call_ids": "1-2", "archive_files": ["/srv/archive/calls/2025-09.jsonl.gz"]})
    login(web, "adm")
    audit = web.get("/admin/audit")
    assert audit.status_code == 200 and "removed old recordings and calls" in audit.text
    assert "Call rows before" in audit.text and "2025-09.jsonl.gz" in audit.text
    settings = web.get("/admin/settings").text
    assert "recordings removed: 3, call rows removed: 2" in settings
