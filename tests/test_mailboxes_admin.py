"""The admin page for mailboxes (issue 23): the settings' rules (pure), add / edit / switch off over HTTP,
the password never shown back and kept when left blank, audit rows, a NOTIFY the poller reloads on,
CSRF, and nobody but an admin reaches it (operator 403, customer 404)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from crm.errors import ValidationError
from crm.mail import MAILBOXES_CHANNEL
from crm.mail.inbound.admin import validate
from tests.helpers import csrf_from, log_in_as, make_user

FORM = {"name": "Sales", "address": "Sales@Example.test", "imap_host": "imap.example.test", "imap_port": "",
        "imap_security": "ssl", "imap_user": "sales", "imap_password": "hunter2-imap", "folders": "INBOX, Sent",
        "enabled": "1"}


def test_settings_rules():
    s = validate(FORM)
    assert (s.address, s.imap_port, s.folders, s.enabled) == ("sales@example.test", 993, ("INBOX", "Sent"), True)
    assert validate({**FORM, "imap_security": "starttls", "folders": ""}).imap_port == 143
    assert validate({**FORM, "imap_security": "starttls", "folders": ""}).folders == ("INBOX",)
    assert validate({**FORM, "imap_security": "none", "imap_host": "127.0.0.1", "imap_port": "1143"}).imap_port == 1143
    with pytest.raises(ValidationError) as e:
        validate({**FORM, "imap_security": "none"})  # in clear across the network: no
    assert set(e.value.errors) == {"imap_security"}
    with pytest.raises(ValidationError) as e:
        validate({"name": "", "address": "not an address", "imap_host": "bad host", "imap_port": "99999",
                  "imap_security": "ssl", "imap_user": "", "folders": ",".join(f"f{i}" for i in range(21))})
    assert set(e.value.errors) == {"name", "address", "imap_host", "imap_port", "imap_user", "folders"}


@pytest.fixture
async def people(db):
    await make_user(db, "anna", "admin")
    await make_user(db, "petr", "operator")
    customer_user = await make_user(db, "alice")
    async with db.acquire() as conn:
        customer = await conn.fetchval("INSERT INTO customers (name) VALUES ('Alpha') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", customer_user["id"],
                           customer)


def _post(web, path, data):
    token = csrf_from(web.get("/admin/mailboxes").text)
    return web.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


async def test_add_edit_switch_off_masked_audited_announced(web, people, db, database_url):
    log_in_as(web, "anna")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(MAILBOXES_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    try:
        assert _post(web, "/admin/mailboxes", FORM).status_code == 303
        async with db.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM mailboxes")
        assert (row["address"], row["imap_password"], list(row["folders"])) == ("sales@example.test", "hunter2-imap",
                                                                                ["INBOX", "Sent"])
        assert await asyncio.wait_for(heard.get(), 5) == str(row["id"])
        page = web.get("/admin/mailboxes").text
        assert "sales@example.test" in page and "hunter2-imap" not in page
        edit = web.get(f"/admin/mailboxes/{row['id']}").text
        assert "hunter2-imap" not in edit and 'value="INBOX, Sent"' in edit

        # A new mailbox without a password, a duplicate address, a bad port: refused, said, nothing saved.
        r = _post(web, "/admin/mailboxes", {**FORM, "imap_password": "", "address": "other@example.test"})
        assert r.status_code == 400 and "the password of the IMAP login" in r.text
        r = _post(web, "/admin/mailboxes", {**FORM, "address": "SALES@example.test"})
        assert r.status_code == 400 and "another mailbox has the address" in r.text and "hunter2-imap" not in r.text
        r = _post(web, f"/admin/mailboxes/{row['id']}", {**FORM, "imap_port": "x"})
        assert r.status_code == 400

        # Edited with the password left blank: kept.
        assert _post(web, f"/admin/mailboxes/{row['id']}", {**FORM, "name": "Sales desk", "imap_password": "",
                                                            "folders": "INBOX"}).status_code == 303
        assert _post(web, f"/admin/mailboxes/{row['id']}/enabled", {}).status_code == 303
        async with db.acquire() as conn:
            after = await conn.fetchrow("SELECT * FROM mailboxes WHERE id = $1", row["id"])
            audits = await conn.fetch("SELECT action, changes::text AS changes FROM audit_log WHERE entity = 'mailbox' "
                                      "ORDER BY id")
        assert (after["name"], after["imap_password"], list(after["folders"]), after["enabled"]) == \
            ("Sales desk", "hunter2-imap", ["INBOX"], False)
        assert [a["action"] for a in audits] == ["create", "update", "update"]
        assert all("hunter2-imap" not in a["changes"] for a in audits)
        assert '"enabled": [true, false]' in audits[2]["changes"]
        assert "Switch on" in web.get("/admin/mailboxes").text
    finally:
        await listener.close()


async def test_the_poller_s_last_word_is_shown(web, people, db):
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO mailboxes (name, address, imap_host, imap_user, last_error, last_polled_at) "
                           "VALUES ('Sales', 's@x.test', 'h', 'u', 'IMAP h:993: ConnectionRefusedError', now())")
    log_in_as(web, "anna")
    page = web.get("/admin/mailboxes").text
    assert "IMAP h:993: ConnectionRefusedError" in page and "never" not in page


async def test_csrf_and_rights(web, people, db):
    log_in_as(web, "anna")
    r = web.post("/admin/mailboxes", data=FORM, follow_redirects=False)
    assert r.status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mailboxes") == 0
        box = await conn.fetchval("INSERT INTO mailboxes (name, address, imap_host, imap_user) "
                                  "VALUES ('Sales', 's@x.test', 'h', 'u') RETURNING id")
    assert web.get("/admin/mailboxes/999").status_code == 404
    assert web.get("/admin/mailboxes/999999999999").status_code == 404  # past the integer column: no such one
    assert web.post("/admin/mailboxes/999999999999/enabled", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                    follow_redirects=False).status_code == 404
    r = web.post("/admin/mailboxes", data={**FORM, "imap_port": "²", "csrf_token": web.cookies["pbxcrm_csrf"]})
    assert r.status_code == 400 and "a port from 1 to 65535" in r.text
    log_in_as(web, "petr")
    assert web.get("/admin/mailboxes").status_code == 403
    assert web.get(f"/admin/mailboxes/{box}").status_code == 403
    token = web.cookies["pbxcrm_csrf"]
    assert web.post(f"/admin/mailboxes/{box}/enabled", data={"csrf_token": token}).status_code == 403
    assert "/admin/mailboxes" not in web.get("/").text
    log_in_as(web, "alice")
    assert web.get("/admin/mailboxes").status_code == 404
    assert web.post(f"/admin/mailboxes/{box}/enabled", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                    follow_redirects=False).status_code == 404
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT enabled FROM mailboxes") is True
