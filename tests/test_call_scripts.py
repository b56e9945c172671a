"""Call scripts (H5, issue 20): the admin writes a script per queue and per tag; the screen pop of a
call through that queue, or from a counterparty with that tag, shows it."""

from __future__ import annotations

from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from crm.pops.events import PopEvent, notify
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, csrf_from, login, make_user

QUEUE_SCRIPT = "Good afternoon, sales desk; ask for the order number first."
TAG_SCRIPT = "Wholesale buyer: offer the price list of the month."


async def _setup(db):
    admin = await make_user(db, "adm", "admin")
    olga = await make_user(db, "olga", "manager", full_name="Olga Orlova")
    async with db.acquire() as conn:
        queue = await conn.fetchval("SELECT id FROM queues WHERE is_default")
        tag = await conn.fetchval("INSERT INTO tags (name) VALUES ('Wholesale buyers') RETURNING id")
        client = await service.create(conn, olga, CounterpartyInput(
            kind="client", last_name="Belov", responsible_user_id=olga["id"]), "RU")
        await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)", client, tag)
    return admin, olga, queue, tag, client


async def test_the_admin_sets_scripts_and_the_pop_api_gives_the_queues_and_the_tags(db, web):
    _admin, _olga, queue, tag, client = await _setup(db)
    login(web, "adm")
    page = web.get("/admin/call-scripts").text
    assert f'id="queue-{queue}"' in page and f'id="tag-{tag}"' in page and "Wholesale buyers" in page
    token = csrf_from(page)
    for target, target_id, text in (("queue", queue, QUEUE_SCRIPT), ("tag", tag, TAG_SCRIPT)):
        r = web.post(f"/admin/call-scripts/{target}/{target_id}", data={"csrf_token": token, "call_script": text},
                     follow_redirects=False)
        assert r.status_code == 303, r.text
    assert QUEUE_SCRIPT in web.get("/admin/call-scripts").text
    too_long = web.post(f"/admin/call-scripts/tag/{tag}", data={"csrf_token": token, "call_script": "x" * 4001})
    assert too_long.status_code == 400
    assert web.post("/admin/call-scripts/tag/999999", data={"csrf_token": token, "call_script": "x"}).status_code == 404
    assert web.post(f"/admin/call-scripts/user/{tag}", data={"csrf_token": token, "call_script": "x"}).status_code == 404
    assert web.post(f"/admin/call-scripts/tag/{tag}", data={"call_script": "x"}).status_code == 403  # no CSRF
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT call_script FROM tags WHERE id = $1", tag) == TAG_SCRIPT
        audited = await conn.fetch("SELECT entity, entity_id FROM audit_log WHERE action = 'call script' ORDER BY id")
    assert [tuple(a) for a in audited] == [("queue", queue), ("tag", tag)]

    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "olga")
    assert web.post(f"/admin/call-scripts/tag/{tag}", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                            "call_script": ""}).status_code == 403
    scripts = web.get(f"/api/pop-scripts?queue={queue}&counterparty={client}").json()["scripts"]
    assert scripts == [{"source": "queue", "name": "Default", "text": QUEUE_SCRIPT},
                       {"source": "tag", "name": "Wholesale buyers", "text": TAG_SCRIPT}] or \
        [s["text"] for s in scripts] == [QUEUE_SCRIPT, TAG_SCRIPT]
    assert web.get(f"/api/pop-scripts?counterparty={client}").json()["scripts"][0]["text"] == TAG_SCRIPT
    assert web.get("/api/pop-scripts").json() == {"scripts": []}
    assert web.get("/api/pop-scripts?counterparty=999999").status_code == 404


async def test_the_queue_and_tag_forms_edit_the_script_too(db, web):
    """H5: the script is a field of the queue's and the tag's own edit forms as well, with the same limit and
    audit as the call scripts page; a form without the field leaves the script alone."""
    _admin, _olga, queue, tag, client = await _setup(db)
    login(web, "adm")
    token = csrf_from(web.get(f"/admin/queues/{queue}").text)
    r = web.post(f"/admin/queues/{queue}", data={"csrf_token": token, "name": "Default", "call_script": QUEUE_SCRIPT},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    assert f">{QUEUE_SCRIPT}</textarea>" in web.get(f"/admin/queues/{queue}").text
    r = web.post("/admin/tags", data={"csrf_token": token, "id": tag, "name": "Wholesale buyers",
                                      "call_script": TAG_SCRIPT}, follow_redirects=False)
    assert r.status_code == 303, r.text
    tags_page = web.get("/admin/tags").text
    assert f'name="call_script" rows="3" maxlength="4000">{TAG_SCRIPT}</textarea>' in tags_page
    assert "The screen pop shows it on calls from cards with this tag." in tags_page
    assert TAG_SCRIPT in web.get("/admin/call-scripts").text, "the own page shows what the forms saved"

    # Too long: refused, and neither the script nor the rest of the form is saved.
    assert web.post(f"/admin/queues/{queue}", data={"csrf_token": token, "name": "Renamed",
                                                    "call_script": "x" * 4001}).status_code == 400
    too_long = web.post("/admin/tags", data={"csrf_token": token, "id": tag, "name": "Renamed tag",
                                             "call_script": "x" * 4001})
    assert too_long.status_code == 400 and "Call script" in too_long.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT name FROM tags WHERE id = $1", tag) == "Wholesale buyers"
    # A new tag with its script; the tag form without the field keeps the script.
    assert web.post("/admin/tags", data={"csrf_token": token, "name": "VIP", "call_script": "Greet by name."},
                    follow_redirects=False).status_code == 303
    assert web.post("/admin/tags", data={"csrf_token": token, "id": tag, "name": "Wholesale buyers",
                                         "description": "bulk"}, follow_redirects=False).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT name FROM queues WHERE id = $1", queue) == "Default"
        assert await conn.fetchval("SELECT call_script FROM tags WHERE id = $1", tag) == TAG_SCRIPT
        assert await conn.fetchval("SELECT call_script FROM tags WHERE name = 'VIP'") == "Greet by name."
        audited = await conn.fetch("SELECT entity, entity_id, changes FROM audit_log WHERE action = 'call script' "
                                   "ORDER BY id")
    assert [(a["entity"], a["entity_id"]) for a in audited][:2] == [("queue", queue), ("tag", tag)]
    assert len(audited) == 3 and QUEUE_SCRIPT in str(audited[0]["changes"])

    # What the pop shows (its API) comes from what the forms saved.
    scripts = web.get(f"/api/pop-scripts?queue={queue}&counterparty={client}").json()["scripts"]
    assert [s["text"] for s in scripts] == [QUEUE_SCRIPT, TAG_SCRIPT]


async def test_the_pop_shows_the_queues_and_the_callers_tags_scripts(db, web_server, chromium):
    _admin, olga, queue, tag, client = await _setup(db)
    # The admin writes them in the queue's and the tag's own edit forms.
    admin_page = await logged_in_page(chromium, web_server.url, "adm", PASSWORD)
    await admin_page.goto(f"{web_server.url}/admin/queues/{queue}")
    await admin_page.fill("#queue-form textarea[name=call_script]", QUEUE_SCRIPT)
    await admin_page.click("#queue-form button[type=submit]")
    await admin_page.wait_for_url(f"{web_server.url}/admin/queues")
    await admin_page.goto(f"{web_server.url}/admin/tags")
    await admin_page.click(f"#tags tr:has(form[data-tag='{tag}']) details.edit-tag summary")
    await admin_page.fill(f"form[data-tag='{tag}'] textarea[name=call_script]", TAG_SCRIPT)
    async with admin_page.expect_navigation():
        await admin_page.click(f"form[data-tag='{tag}'] button[type=submit]")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT call_script FROM tags WHERE id = $1", tag) == TAG_SCRIPT
        assert await conn.fetchval("SELECT call_script FROM queues WHERE id = $1", queue) == QUEUE_SCRIPT
    page = await logged_in_page(chromium, web_server.url, "olga", PASSWORD)
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    async with db.acquire() as conn:
        await notify(conn, PopEvent(olga["id"], "ringing", "ch.1", "incoming", "84951234567", client, "Belov",
                                    queue_id=queue))
    await page.wait_for_selector("#screen-pop .call-script p.script-tag")
    script = await page.inner_text("#screen-pop .call-script")
    assert "Script" in script and QUEUE_SCRIPT in script and TAG_SCRIPT in script
    # A stranger's call through no queue: no script.
    async with db.acquire() as conn:
        await notify(conn, PopEvent(olga["id"], "ringing", "ch.2", "incoming", "84990000000", None, ""))
    await page.wait_for_selector("#screen-pop[data-channel='ch.2']")
    await page.wait_for_timeout(300)
    assert await page.locator("#screen-pop .call-script").count() == 0
