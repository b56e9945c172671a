"""The admin's SMS gateways and sending numbers (issue 21): each kind's settings checked (a pure
function, then through the page), secrets never shown back, switching on and off, the one default
number, audit rows, and a NOTIFY the sender worker reloads on."""

import asyncio

import asyncpg
import pytest

from crm.errors import ValidationError
from crm.sms import gateway_config
from tests.helpers import csrf_from, log_in_as, make_user


def test_each_kinds_settings_and_their_defaults():
    smpp = gateway_config.validate("smpp", {"host": " smsc.example ", "port": "2775", "system_id": "me",
                                            "password": " p w "})
    assert smpp == {"host": "smsc.example", "port": 2775, "system_id": "me", "password": " p w ", "system_type": "",
                    "window": 10, "rate": 50, "enquire_link_seconds": 30}
    assert gateway_config.validate("smpp", {"host": "h", "port": "1", "system_id": "s", "password": "p",
                                            "window": "3", "rate": "2,5"})["rate"] == 2.5
    assert gateway_config.validate("sip", {"endpoint": "gsm1", "sender": "+7495"}) == {"endpoint": "gsm1",
                                                                                      "from": "+7495"}
    assert gateway_config.validate("http", {"url": "https://sms.example/send", "token": "t",
                                            "webhook_secret": "w"})["url"] == "https://sms.example/send"
    with pytest.raises(ValidationError) as e:
        gateway_config.validate("smpp", {"port": "70000", "window": "0", "rate": "x"})
    assert set(e.value.errors) == {"host", "port", "system_id", "password", "window", "rate"}
    with pytest.raises(ValidationError) as e:
        gateway_config.validate("http", {"url": "ftp://x", "token": "t", "webhook_secret": "w"})
    assert set(e.value.errors) == {"url"}
    with pytest.raises(ValidationError):
        gateway_config.validate("fax", {})
    # A secret left blank on an edit keeps the stored one; shown masked.
    kept = gateway_config.validate("http", {"url": "http://a.b", "webhook_secret": "new-secret"},
                                   {"token": "old-token-123"})
    assert kept["token"] == "old-token-123"
    assert gateway_config.shown(kept) == {"url": "http://a.b", "token": "••••23", "webhook_secret": "••••et"}


@pytest.fixture
async def admin(db):
    await make_user(db, "anna", "admin")
    await make_user(db, "irina", "manager")


def _post(web, path, data):
    token = csrf_from(web.get("/admin/sms-gateways").text)
    return web.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


SMPP = {"name": "Main SMSC", "kind": "smpp", "active": "1", "host": "smsc.example.ru", "port": "2775",
        "system_id": "pbxcrm", "password": "very-secret-pw"}


async def test_gateways_are_checked_saved_masked_audited_and_announced(web, admin, db, database_url):
    log_in_as(web, "anna")
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener("pbxcrm_sms_gateways", lambda *args: heard.append(args[3]))
    try:
        r = _post(web, "/admin/sms-gateways", {**SMPP, "port": "99999", "host": ""})
        assert r.status_code == 400
        assert 'id="error-port"' in r.text and 'id="error-host"' in r.text and "very-secret-pw" not in r.text
        assert 'value="Main SMSC"' in r.text, "what was typed is shown again, the password not"
        r = _post(web, "/admin/sms-gateways", SMPP)
        assert r.status_code == 303
        async with db.acquire() as conn:
            gateway = await conn.fetchrow("SELECT id, config::text AS config, active FROM sms_gateways")
        assert '"password": "very-secret-pw"' in gateway["config"] and '"window": 10' in gateway["config"]
        page = web.get("/admin/sms-gateways").text
        assert "very-secret-pw" not in page and "Password: <code>••••pw</code>" in page
        assert "very-secret-pw" not in web.get(f"/admin/sms-gateways/{gateway['id']}").text
        # An edit with the password left blank keeps it; switching off and on.
        assert _post(web, f"/admin/sms-gateways/{gateway['id']}", {**SMPP, "password": "", "port": "2776"}
                     ).status_code == 303
        assert _post(web, f"/admin/sms-gateways/{gateway['id']}/active", {}).status_code == 303
        async with db.acquire() as conn:
            row = await conn.fetchrow("SELECT config->>'password' AS password, config->>'port' AS port, active "
                                      "FROM sms_gateways")
            audits = [r["changes"] for r in await conn.fetch(
                "SELECT changes FROM audit_log WHERE entity = 'sms_gateway' ORDER BY id")]
        assert (row["password"], row["port"], row["active"]) == ("very-secret-pw", "2776", False)
        assert len(audits) == 3 and not any("very-secret-pw" in a for a in audits)
        assert '"active": [true, false]' in audits[2]
        await asyncio.sleep(0.2)
        assert heard == [f"gateway {gateway['id']}"] * 3
    finally:
        await listener.close()


async def test_sending_numbers_one_default_and_only_admins(web, admin, db):
    log_in_as(web, "anna")
    assert _post(web, "/admin/sms-gateways", SMPP).status_code == 303
    async with db.acquire() as conn:
        gateway = await conn.fetchval("SELECT id FROM sms_gateways")
    r = _post(web, "/admin/sms-gateways/numbers", {"number": "not a number", "gateway_id": str(gateway)})
    assert r.status_code == 400 and 'id="error-number"' in r.text
    assert _post(web, "/admin/sms-gateways/numbers", {"number": "8 495 111-22-33", "gateway_id": str(gateway),
                                                      "is_default": "1"}).status_code == 303
    assert _post(web, "/admin/sms-gateways/numbers", {"number": "+7 495 444-55-66", "gateway_id": str(gateway),
                                                      "is_default": "1"}).status_code == 303
    async with db.acquire() as conn:
        numbers = {r["number"]: r["is_default"] for r in await conn.fetch("SELECT number, is_default FROM sms_numbers")}
    assert numbers == {"+74951112233": False, "+74954445566": True}
    assert _post(web, "/admin/sms-gateways/numbers/delete", {"number": "+74951112233"}).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_numbers") == 1
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'sms_number' ORDER BY id")]
    assert actions == ["create", "create", "delete"]
    log_in_as(web, "irina")
    assert web.get("/admin/sms-gateways").status_code == 403
    page = web.get("/clients").text
    assert web.post("/admin/sms-gateways", data={**SMPP, "csrf_token": csrf_from(page)}).status_code == 403
    assert "/admin/sms-gateways" not in page and 'href="/sms"' in page


async def test_a_gateway_id_past_the_integer_column_is_no_such_gateway(web, admin, db):
    log_in_as(web, "anna")
    assert web.get("/admin/sms-gateways/999999999999").status_code == 200  # the list, nothing to edit
    r = _post(web, "/admin/sms-gateways/999999999999/active", {"active": "1"})
    assert r.status_code < 500, r.text
