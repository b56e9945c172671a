"""The web chat over HTTP and its websocket, in-process (issue 23): the public side lets exactly the widget
and the socket through and checks the page's origin, floods and sizes; a visitor's HTML stays text; a
signed identity is recognised and a forged one is not; a message left offline becomes a task; of two
operators accepting, the second is told who took it; the operators' pages and the report keep their rights."""

from __future__ import annotations

import time

import pytest
from starlette.websockets import WebSocketDisconnect

from crm.counterparties import service as counterparties
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.webchat import queries as q
from crm.webchat import rules, sites
from tests.helpers import log_in_as, make_user, post_form

ORIGIN = "https://shop.example.com"


async def _site(db, **over) -> dict:
    admin = await make_user(db, "admin", "admin", full_name="Anna Admin")
    async with db.acquire() as conn:
        site_id = await sites.save(conn, admin["id"], None, sites.SiteInput(
            name="Shop", origins_text=ORIGIN, anonymize_ip=over.get("anonymize_ip", False), enabled=True,
            offline_user_id=over.get("offline_user_id"), offline_queue_id=None))
        return dict(await q.site(conn, site_id))


def _wait_for_listen(web) -> None:
    deadline = time.monotonic() + 10
    while not web.app.state.chat.listening:
        assert time.monotonic() < deadline, "the chat hub's LISTEN never came up"
        time.sleep(0.02)


def _hello(ws, **extra) -> dict:
    ws.send_json({"type": "hello", "token": extra.pop("token", None),
                  "page": {"url": "https://shop.example.com/catalog?x=1", "title": "Catalog",
                           "referrer": "https://search.example/"}, **extra})
    welcome = ws.receive_json()
    assert welcome["type"] == "welcome"
    return welcome


def _socket(web, site, origin=ORIGIN):
    return web.websocket_connect(f"/chat/ws?site={site['public_key']}", headers={"origin": origin})


async def _online(db, user) -> None:
    async with db.acquire() as conn:
        await q.touch_stream(conn, f"test-{user['id']}", user["id"])


async def test_the_widget_is_public_and_loadable_from_another_origin(db, web):
    answer = web.get("/chat/widget.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "set-cookie" not in answer.headers  # no session, no CSRF cookie
    assert "textContent" in answer.text and "innerHTML" not in answer.text
    login_page = web.get("/login")  # the CRM's own pages keep their headers
    assert login_page.headers["cache-control"] == "no-store"
    assert "cross-origin-resource-policy" not in login_page.headers
    assert "script-src 'self'" in login_page.headers["content-security-policy"]
    # Nothing else under /chat/ is public.
    assert web.get("/chats", follow_redirects=False).status_code == 302


async def test_a_socket_from_an_origin_the_site_does_not_list_is_refused(db, web):
    site = await _site(db)
    for origin in ("https://evil.example.com", "http://shop.example.com", "null"):
        with pytest.raises(WebSocketDisconnect) as refused:
            with _socket(web, site, origin):
                pass
        assert refused.value.code == 4403
    with pytest.raises(WebSocketDisconnect):
        with web.websocket_connect("/chat/ws?site=no-such-site-key-000", headers={"origin": ORIGIN}):
            pass
    with _socket(web, site) as ws:
        assert _hello(ws)["token"]


async def test_new_sockets_from_one_address_are_limited(db, web):
    """Each new socket may make a visitor row: one address opening them on and on is cut off (4429)."""
    from web.views.chat_public import FLOODING, HELLO_BURST

    site = await _site(db)
    opened = 0
    with pytest.raises(WebSocketDisconnect) as cut:
        for _ in range(int(HELLO_BURST) + 5):
            with _socket(web, site) as ws:
                ws.send_json({"type": "hello", "token": None, "page": {"url": ORIGIN + "/"}})
                ws.receive_json()
                opened += 1
    assert cut.value.code == FLOODING
    assert int(HELLO_BURST) - 1 <= opened <= int(HELLO_BURST) + 1  # the bucket refills a little meanwhile


async def test_offline_message_becomes_a_task_for_the_sites_person(db, web):
    manager = await make_user(db, "mgr", "manager", full_name="Irina Manager")
    site = await _site(db, offline_user_id=manager["id"])
    with _socket(web, site) as ws:
        welcome = _hello(ws)
        assert welcome["online"] is False and welcome["texts"]["offline"]
        ws.send_json({"type": "offline", "name": "Oleg", "contact": "oleg@example.org", "body": "Call me back please"})
        assert ws.receive_json()["type"] == "offline_saved"
    async with db.acquire() as conn:
        chat = await conn.fetchrow("SELECT * FROM chat_conversations")
        task = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", chat["task_id"])
        told = await conn.fetchval("SELECT count(*) FROM notifications WHERE user_id = $1", manager["id"])
    assert chat["status"] == "offline" and chat["page_url"] == "https://shop.example.com/catalog?x=1"
    assert task["responsible_user_id"] == manager["id"] and "Oleg" in task["title"]
    assert "oleg@example.org" in task["remark"] and "Call me back please" in task["remark"]
    assert told == 1


async def test_a_flood_is_refused_and_the_visitor_goes_on_later(db, web):
    site = await _site(db)
    with _socket(web, site) as ws:
        _hello(ws)
        started = time.monotonic()
        for i in range(30):
            ws.send_json({"type": "message", "body": f"spam {i}"})
        answers = [ws.receive_json() for _ in range(30)]
        elapsed = time.monotonic() - started
        refused = [a for a in answers if a["type"] == "error"]
        assert refused and all(a["error"] == "too_fast" and a["text"] for a in refused)
    async with db.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM chat_messages")
    assert stored == 30 - len(refused)
    # The burst, and what the rate refilled meanwhile.
    assert stored <= rules.VISITOR_BURST + elapsed * rules.VISITOR_RATE + 1


async def test_oversized_messages_and_frames_are_refused_and_nothing_is_stored(db, web):
    site = await _site(db)
    with _socket(web, site) as ws:
        _hello(ws)
        ws.send_json({"type": "message", "body": "x" * (rules.MAX_MESSAGE_CHARS + 1)})
        assert ws.receive_json()["error"] == "too_long"
        ws.send_text('{"type": "message", "body": "' + "y" * (rules.MAX_FRAME_BYTES + 10) + '"}')
        assert ws.receive_json()["error"] == "too_big"
        ws.send_json({"type": "message", "body": "   "})
        assert ws.receive_json()["error"] == "empty"
        ws.send_json({"type": "message", "body": "still here"})
        assert ws.receive_json()["body"] == "still here"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(body) FROM chat_messages") == ["still here"]


async def test_a_signed_identity_is_recognised_and_a_forged_one_is_not(db, web):
    site = await _site(db)
    ivanova = await make_user(db, "ivanova", "manager")
    async with db.acquire() as conn:
        card = await counterparties.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolova", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("email", "Anna@Shop.example"),)), "RU")
    ts = int(time.time())
    good = {"id": "c-42", "email": "anna@shop.example", "name": "Anna", "ts": ts,
            "sig": rules.sign_identity(site["identity_secret"], "c-42", "anna@shop.example", "Anna", ts)}
    with _socket(web, site) as ws:
        _hello(ws, identity={**good, "id": "c-1", "sig": good["sig"]})  # forged: another customer's id
        ws.send_json({"type": "message", "body": "who am I?"})
        ws.receive_json()
    with _socket(web, site) as ws:
        _hello(ws, identity=good)
        ws.send_json({"type": "message", "body": "hello, it is Anna"})
        ws.receive_json()
    async with db.acquire() as conn:
        visitors = await conn.fetch("SELECT external_id, verified, email FROM chat_visitors ORDER BY id")
        chats = await conn.fetch("SELECT counterparty_id, attached_how FROM chat_conversations ORDER BY id")
    assert [(v["external_id"], v["verified"]) for v in visitors] == [("", False), ("c-42", True)]
    assert chats[0]["counterparty_id"] is None
    assert (chats[1]["counterparty_id"], chats[1]["attached_how"]) == (card, "auto")


async def test_first_accept_wins_html_stays_text_both_ways(db, web, web_app):
    site = await _site(db)
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    await make_user(db, "sidorov", "operator", full_name="Semen Sidorov")
    await _online(db, petrov)
    _wait_for_listen(web)
    with _socket(web, site) as ws:
        assert _hello(ws)["online"] is True
        ws.send_json({"type": "message", "body": "<img src=x onerror=alert(1)> help"})
        mine = ws.receive_json()
        assert mine["from"] == "visitor" and mine["body"] == "<img src=x onerror=alert(1)> help"
        async with db.acquire() as conn:
            chat_id = await conn.fetchval("SELECT id FROM chat_conversations WHERE status = 'waiting'")

        log_in_as(web, "petrov")
        assert post_form(web, f"/chats/{chat_id}/accept").status_code == 303
        status = ws.receive_json()
        assert status == {"type": "status", "status": "active", "operator": "Pavel Petrov"}
        page = web.get(f"/chats/{chat_id}")
        assert "&lt;img src=x onerror=alert(1)&gt; help" in page.text and "<img src=x" not in page.text
        answer = web.post(f"/chats/{chat_id}/messages", json={"body": "<b>Hello</b> & welcome"},
                          headers={"x-csrf-token": web.cookies["pbxcrm_csrf"], "accept": "application/json"})
        assert answer.status_code == 201
        said = ws.receive_json()
        assert said["from"] == "operator" and said["body"] == "<b>Hello</b> & welcome"
        assert said["name"] == "Pavel Petrov"
        web.post(f"/chats/{chat_id}/typing", headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]})
        assert ws.receive_json() == {"type": "typing"}

        log_in_as(web, "sidorov")
        late = post_form(web, f"/chats/{chat_id}/accept")
        assert late.status_code == 409 and "taken by Pavel Petrov" in late.text
        late_json = web.post(f"/chats/{chat_id}/accept", headers={"x-csrf-token": web.cookies["pbxcrm_csrf"],
                                                                  "accept": "application/json"})
        assert late_json.status_code == 409 and late_json.json()["error"] == "taken by Pavel Petrov"
        assert web.get(f"/chats/{chat_id}").status_code == 404  # not his, not waiting
        assert web.post(f"/chats/{chat_id}/messages", json={"body": "hi"},
                        headers={"x-csrf-token": web.cookies["pbxcrm_csrf"]}).status_code == 404
        listed = web.get("/chats?view=active")
        assert f'data-id="{chat_id}"' not in listed.text

        log_in_as(web, "petrov")
        assert post_form(web, f"/chats/{chat_id}/close").status_code == 303
        assert ws.receive_json()["status"] == "closed"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT operator_user_id FROM chat_conversations WHERE id = $1",
                                   chat_id) == petrov["id"]
    await make_user(db, "boss", "supervisor")
    log_in_as(web, "boss")  # the report counts Petrov's chat and message, nothing for Sidorov
    report = web.get("/api/reports/chats").json()
    assert [(r["operator"], r["taken"], r["closed"], r["messages"]) for r in report["operators"]] == [
        ("Pavel Petrov", 1, 1, 1)]
    assert web.get(f"/chats/{chat_id}").status_code == 200  # a supervisor sees every chat


async def test_an_operator_attaches_the_chat_and_the_card_shows_it(db, web):
    site = await _site(db)
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    async with db.acquire() as conn:
        card = await counterparties.create(conn, petrov, CounterpartyInput(
            kind="client", last_name="Orlov", responsible_user_id=petrov["id"]), "RU")
    with _socket(web, site) as ws:
        _hello(ws)
        ws.send_json({"type": "message", "body": "My order is late <script>x</script>"})
        ws.receive_json()
    async with db.acquire() as conn:
        chat_id = await conn.fetchval("SELECT id FROM chat_conversations")
    log_in_as(web, "petrov")
    assert post_form(web, f"/chats/{chat_id}/accept").status_code == 303
    assert post_form(web, f"/chats/{chat_id}/attach", {"counterparty_id": str(card)}).status_code == 303
    page = web.get(f"/counterparties/{card}?kinds=chat")
    assert "https://shop.example.com/catalog?x=1" in page.text
    assert "My order is late &lt;script&gt;x&lt;/script&gt;" in page.text
    assert 'id="card-chats"' in page.text
    async with db.acquire() as conn:
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'chat' AND action = 'attach'")
    assert audited == 1


async def test_the_report_and_admin_pages_keep_their_rights(db, web):
    site = await _site(db)
    await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    await make_user(db, "boss", "supervisor", full_name="Boss")
    cust = await make_user(db, "cust", "operator", full_name="Customer's user")
    async with db.acquire() as conn:
        customer = await conn.fetchval("INSERT INTO customers (name) VALUES ('Alpha') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", cust["id"], customer)
    log_in_as(web, "cust")  # a customer's user: the chat's pages are not theirs (404, as an unknown path)
    for path in ("/chats", "/chats/1", "/reports/chats", "/admin/chat-sites"):
        assert web.get(path).status_code == 404, path
    assert web.get("/chat/widget.js").status_code == 200  # the public widget is everyone's
    log_in_as(web, "petrov")
    assert web.get("/reports/chats").status_code == 403
    assert web.get("/admin/chat-sites").status_code == 403
    log_in_as(web, "boss")
    report = web.get("/api/reports/chats")
    assert report.status_code == 200 and report.json()["totals"] == {"taken": 0, "closed": 0, "messages": 0}
    log_in_as(web, "admin")
    page = web.get(f"/admin/chat-sites/{site['id']}")
    assert site["public_key"] in page.text and site["identity_secret"] in page.text
    bad = post_form(web, f"/admin/chat-sites/{site['id']}", {"name": "Shop", "allowed_origins": "shop.example.org",
                                                             "enabled": "1"})
    assert bad.status_code == 400 and "shop.example.org" in bad.text
    ok = post_form(web, f"/admin/chat-sites/{site['id']}", {"name": "Shop 2", "anonymize_ip": "1", "enabled": "1",
                                                            "allowed_origins": "https://a.example\nhttp://b.example:81"})
    assert ok.status_code == 303
    assert post_form(web, f"/admin/chat-sites/{site['id']}/secret").status_code == 303
    async with db.acquire() as conn:
        changed = await q.site(conn, site["id"])
        audit_rows = await conn.fetch("SELECT changes FROM audit_log WHERE entity = 'chat_site' ORDER BY id")
    assert changed["allowed_origins"] == ["https://a.example", "http://b.example:81"] and changed["anonymize_ip"]
    assert changed["identity_secret"] != site["identity_secret"]
    assert len(audit_rows) == 3 and site["identity_secret"] not in str([r["changes"] for r in audit_rows])


async def test_an_anonymising_site_keeps_only_the_visitors_network(db):
    from crm.webchat import service

    site = await _site(db, anonymize_ip=True)
    plain = await _site_without_admin(db)
    async with db.acquire() as conn:
        for s, address in ((site, "203.0.113.77"), (plain, "203.0.113.77"), (site, "2001:db8:abcd:12::9")):
            visitor = await q.insert_visitor(conn, s["id"], address.encode() + bytes([s["id"]]))
            arrival = service.Arrival({"url": "https://shop.example.com/", "title": "", "referrer": ""}, "UA", address)
            await service.visitor_message(conn, s, visitor, "hello", arrival, "RU")
        stored = [r["ip"] for r in await conn.fetch("SELECT ip FROM chat_conversations ORDER BY id")]
    assert stored == ["203.0.113.0", "203.0.113.77", "2001:db8:abcd::"]


async def _site_without_admin(db) -> dict:
    async with db.acquire() as conn:
        admin = await conn.fetchval("SELECT id FROM users WHERE login = 'admin'")
        site_id = await sites.save(conn, admin, None, sites.SiteInput(
            name="Plain", origins_text=ORIGIN, anonymize_ip=False, enabled=True, offline_user_id=None,
            offline_queue_id=None))
        return dict(await q.site(conn, site_id))


async def test_two_operators_accepting_at_once_one_takes_it_the_other_is_told_who(db):
    import asyncio

    from crm.errors import Conflict
    from crm.webchat import service

    site = await _site(db)
    operators = [await make_user(db, f"op{i}", "operator", full_name=f"Operator {i}") for i in range(4)]
    async with db.acquire() as conn:
        visitor = await q.insert_visitor(conn, site["id"], b"race")
        arrival = service.Arrival({"url": "https://shop.example.com/", "title": "", "referrer": ""}, "UA", None)
        chat, _message = await service.visitor_message(conn, site, visitor, "anyone?", arrival, "RU")

    async def accept(user):
        async with db.acquire() as conn:
            try:
                await service.accept(conn, user, chat)
                return "took"
            except Conflict as e:
                return str(e)

    results = await asyncio.gather(*(accept(u) for u in operators))
    assert results.count("took") == 1
    winner = operators[results.index("took")]
    assert sorted(r for r in results if r != "took") == [f"taken by {winner['full_name']}"] * 3
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT operator_user_id FROM chat_conversations WHERE id = $1", chat) == winner["id"]
