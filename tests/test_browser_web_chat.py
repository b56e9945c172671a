"""The web chat's Done-when in Chromium (issue 23, I3): a shop's page on ANOTHER origin (a tiny HTTP server
on its own port, the one <script> tag) is the visitor; two operators have the chat desk open in their own
browser contexts. The visitor writes; both operators are invited; the first accepts and the other's
invitation says who took it; they write to each other, each seeing the other type; the operator attaches
the chat to a card, whose timeline then shows the transcript with the page's URL and the visitor's IP.
The widget is served by one web process and the operators by another: several workers, one chat."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web as aioweb

from crm.counterparties import service as counterparties
from crm.counterparties.model import CounterpartyInput
from crm.webchat import queries as q
from crm.webchat import sites
from tests.browser import WebServerProcess, free_tcp_port, logged_in_page
from tests.helpers import PASSWORD, make_user

SHOP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop catalog</title></head>
<body><h1>Our catalog</h1>
<script src="{crm}/chat/widget.js" data-site="{key}" async></script>
</body></html>"""


async def _shop(port: int, crm_url: str, key: str) -> aioweb.AppRunner:
    """The shop: another origin (its own port on loopback) serving a page with the widget's tag at any path."""
    async def page(_request):
        return aioweb.Response(text=SHOP_PAGE.format(crm=crm_url, key=key), content_type="text/html")

    app = aioweb.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = aioweb.AppRunner(app)
    await runner.setup()
    await aioweb.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_a_visitor_chats_from_another_origin_and_the_transcript_lands_on_the_card(db, web_server, chromium,
                                                                                       database_url, tmp_path):
    admin = await make_user(db, "admin", "admin", full_name="Anna Admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov")
    await make_user(db, "sidorov", "operator", full_name="Semen Sidorov")
    async with db.acquire() as conn:
        card = await counterparties.create(conn, petrov, CounterpartyInput(
            kind="client", last_name="Orlov", first_name="Oleg", responsible_user_id=petrov["id"]), "RU")
    # The site is set up for the shop's origin, where the shop's server then comes up.
    port = free_tcp_port()
    shop = f"http://127.0.0.1:{port}"
    async with db.acquire() as conn:
        site_id = await sites.save(conn, admin["id"], None, sites.SiteInput(
            name="Shop", origins_text=shop, anonymize_ip=False, enabled=True, offline_user_id=None,
            offline_queue_id=None))
        key = (await q.site(conn, site_id))["public_key"]
    # The visitor's widget talks to a second `pbxcrm web` process: the two share only PostgreSQL, so every
    # message, typing and "taken" crosses between them by LISTEN/NOTIFY.
    visitors_server = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web-visitors.log")
    await visitors_server.start()
    runner = await _shop(port, visitors_server.url, key)
    try:

        # Two operators with the chat desk open: online.
        desk = await logged_in_page(chromium, web_server.url, "petrov", PASSWORD)
        await desk.goto(web_server.url + "/chats")
        other = await logged_in_page(chromium, web_server.url, "sidorov", PASSWORD)
        await other.goto(web_server.url + "/chats")
        await desk.wait_for_selector("#chat-desk[data-live='1']")
        await other.wait_for_selector("#chat-desk[data-live='1']")

        # The visitor, in a browser of its own, on the shop's page.
        visitor_context = await chromium.new_context()
        visitor = await visitor_context.new_page()
        await visitor.goto(shop + "/catalog/phones?utm_source=ad")
        await visitor.wait_for_selector("#pbxcrm-chat[data-ready='1']")
        await visitor.click("#pbxcrm-chat-open")
        assert await visitor.locator("#pbxcrm-chat-form").is_visible()  # operators are online: no offline form
        await visitor.fill("#pbxcrm-chat-input", "Is my order <b>ready</b>?")
        await visitor.click("#pbxcrm-chat-send")
        await visitor.wait_for_selector("#pbxcrm-chat-messages li.pbxcrm-chat-visitor")

        # Both operators are invited (with the chime); the first to accept takes it.
        invite = desk.locator(".chat-invite").first
        await invite.wait_for()
        assert "Is my order <b>ready</b>?" in await invite.inner_text()
        assert "/catalog/phones?utm_source=ad" in await invite.inner_text()
        await other.locator(".chat-invite").first.wait_for()
        assert int(await desk.locator("#chat-desk").get_attribute("data-rang") or "0") >= 1
        await invite.locator("button[type=submit]").click()
        await desk.wait_for_url(web_server.url + "/chats/*")
        chat_id = int(desk.url.rsplit("/", 1)[1])
        await other.wait_for_selector(f"#chat-invite-{chat_id} .chat-taken-by >> text=taken by Pavel Petrov")
        assert await other.locator(f"#chat-invite-{chat_id} button").count() == 0

        # The visitor sees who joined; both sides see the other typing, and the answer arrives.
        await visitor.wait_for_selector("#pbxcrm-chat-status >> text=Pavel Petrov joined the chat")
        await desk.wait_for_selector("#chat[data-live='1']")
        body = desk.locator("#chat-messages .chat-from-visitor .chat-body").first
        assert await body.inner_text() == "Is my order <b>ready</b>?"  # text, never HTML
        assert await desk.locator("#chat-messages b").count() == 0
        # Watched from before the first key: the desk shows "typing" for 4 s after a frame, and typing the
        # words takes about 2 s (more on a loaded machine), past the typing throttle.
        seen_typing = asyncio.ensure_future(desk.wait_for_selector("#chat-typing:not([hidden])"))
        await visitor.type("#pbxcrm-chat-input", "and the delivery", delay=120)
        await seen_typing
        await desk.type("#chat-send textarea", "Yes, it is ")
        await visitor.wait_for_selector("#pbxcrm-chat-typing:not([hidden])")
        await desk.fill("#chat-send textarea", "Yes, it is ready: pick it up today")
        await desk.click("#chat-send button[type=submit]")
        answer = visitor.locator("#pbxcrm-chat-messages li.pbxcrm-chat-operator")
        await answer.wait_for()
        assert "Yes, it is ready: pick it up today" in await answer.inner_text()
        assert "Pavel Petrov" in await answer.inner_text()
        await visitor.click("#pbxcrm-chat-send")  # "and the delivery", typed above
        await desk.wait_for_selector("#chat-messages .chat-from-visitor >> text=and the delivery")

        # The operator attaches the chat to Orlov's card with the picker.
        await desk.fill("#counterparty-find", "Orlov")
        await desk.locator("#counterparty-results button.choose").first.click()
        await desk.click("#chat-attach button[type=submit]")
        await desk.wait_for_selector(f"#chat-counterparty a[href='/counterparties/{card}']")

        # The card's timeline: the chat with its page URL, the visitor's IP and the transcript.
        await desk.goto(f"{web_server.url}/counterparties/{card}")
        await desk.check("#timeline-kinds input[value=chat]")
        await desk.click("#timeline-kinds button[type=submit]")
        item = desk.locator("#timeline li.item-chat").first
        await item.wait_for()
        text = await item.inner_text()
        assert shop + "/catalog/phones?utm_source=ad" in text
        assert "127.0.0.1" in text
        for said in ("Is my order <b>ready</b>?", "Yes, it is ready: pick it up today", "and the delivery"):
            assert said in text
        assert await desk.locator(f"#card-chats tr[data-id='{chat_id}']").count() == 1
        async with db.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM chat_conversations WHERE id = $1", chat_id)
            pages = await conn.fetchval("SELECT count(*) FROM chat_pages WHERE conversation_id = $1", chat_id)
        assert (row["operator_user_id"], row["counterparty_id"], row["ip"]) == (petrov["id"], card, "127.0.0.1")
        assert row["page_title"] == "Shop catalog" and pages >= 1
        await visitor_context.close()
    finally:
        await runner.cleanup()
        await visitors_server.close()


async def test_with_nobody_online_the_widget_takes_a_message_that_becomes_a_task(db, web_server, chromium):
    admin = await make_user(db, "admin", "admin", full_name="Anna Admin")
    manager = await make_user(db, "mgr", "manager", full_name="Irina Manager")
    port = free_tcp_port()
    shop = f"http://127.0.0.1:{port}"
    async with db.acquire() as conn:
        site_id = await sites.save(conn, admin["id"], None, sites.SiteInput(
            name="Shop", origins_text=shop, anonymize_ip=True, enabled=True, offline_user_id=manager["id"],
            offline_queue_id=None))
        key = (await q.site(conn, site_id))["public_key"]
    runner = await _shop(port, web_server.url, key)
    context = await chromium.new_context()
    try:
        visitor = await context.new_page()
        await visitor.goto(shop + "/contacts")
        await visitor.wait_for_selector("#pbxcrm-chat[data-ready='1']")
        await visitor.click("#pbxcrm-chat-open")
        offline = visitor.locator("#pbxcrm-chat-offline")
        assert await offline.is_visible() and not await visitor.locator("#pbxcrm-chat-form").is_visible()
        await offline.locator("input[name=name]").fill("Oleg <i>Orlov</i>")
        await offline.locator("input[name=contact]").fill("+7 916 555-44-33")
        await offline.locator("textarea[name=body]").fill("Please call me about delivery")
        await offline.locator("button[type=submit]").click()
        await visitor.wait_for_selector("#pbxcrm-chat-thanks")
        async with db.acquire() as conn:
            chat = await conn.fetchrow("SELECT * FROM chat_conversations")
            task = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", chat["task_id"])
        assert chat["status"] == "offline" and chat["ip"] == "127.0.0.0"  # the site anonymises
        assert task["responsible_user_id"] == manager["id"] and "Oleg <i>Orlov</i>" in task["title"]
        assert "+7 916 555-44-33" in task["remark"] and "Please call me about delivery" in task["remark"]
    finally:
        await context.close()
        await runner.cleanup()
