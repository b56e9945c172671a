"""The card's SMS chat in Chromium (issue 21): the live part counter while typing, a sent message turning
"delivered" within 2 s of its receipts (made through crm.sms.queries, as the sender worker makes them) with
no reload, an incoming message appearing and being marked read while the chat is open, and the chat live
again after the server restarts (the browser's stream reconnects)."""

import asyncio
import time

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.sms import queries as q
from crm.sms.gateway import Incoming
from crm.sms.inbox import Inbox
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user

CYRILLIC_200 = ("Здравствуйте! Ваш заказ готов и ждёт вас в пункте выдачи на Тверской, 7. " * 3)[:200]


async def _receipts(conn, gateway: int, message_id: int) -> None:
    """What the sender worker and the gateway's receipts do: claim, submit 3 parts, each delivered."""
    [claimed] = await q.claim_due(conn, "test-worker", gateway, 10, 60)
    assert claimed["id"] == message_id and claimed["parts"] == 3
    await q.record_submitted(conn, message_id, gateway, [(1, "p-1"), (2, "p-2"), (3, "p-3")])
    for part in ("p-1", "p-2", "p-3"):
        await q.apply_receipt(conn, gateway, part, "delivered")


async def test_the_counter_a_receipt_and_an_incoming_sms_show_live_in_the_chat(db, web_server, chromium):
    mgr = await make_user(db, "mgr", "manager", full_name="Irina Manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Lisitsyna", responsible_user_id=mgr["id"],
            contacts=(ContactInput("phone", "8 916 555-44-33"),)), "RU")
        gateway = await conn.fetchval("INSERT INTO sms_gateways (name, kind) VALUES ('smsc', 'smpp') RETURNING id")
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950000001', $1, true)",
                           gateway)
    page = await logged_in_page(chromium, web_server.url, "mgr", PASSWORD)
    await page.goto(f"{web_server.url}/counterparties/{client}#sms")
    counter = page.locator("#sms .sms-counter")

    await page.fill("#sms textarea[name=body]", "Hello {there}")
    assert await counter.inner_text() == "Characters: 13, parts: 1 (GSM-7)"  # braces take two septets each
    await page.fill("#sms textarea[name=body]", "я" * 700)
    assert "parts: 11 (UCS-2)" in await counter.inner_text() and "at most 10" in await counter.inner_text()
    await page.fill("#sms textarea[name=body]", CYRILLIC_200)
    assert await counter.inner_text() == "Characters: 200, parts: 3 (UCS-2)"

    await page.click("#sms-send button[type=submit]")
    await page.wait_for_selector("#sms .sms-out[data-status=queued]")
    await page.wait_for_selector("#sms[data-live='1']")
    async with db.acquire() as conn:
        message_id = await conn.fetchval("SELECT id FROM sms_messages")
        started = time.monotonic()
        await _receipts(conn, gateway, message_id)
    await page.wait_for_selector(f"#sms-{message_id}[data-status=delivered]", timeout=2000)
    assert time.monotonic() - started < 2
    assert await page.locator(f"#sms-{message_id} .sms-status").inner_text() == "delivered"
    history = await page.locator(f"#sms-{message_id} .sms-status").get_attribute("title")
    lines = history.splitlines()
    assert len(lines) == 4 and all(w in line for w, line in zip(("queued", "sending", "sent", "delivered"), lines))

    started = time.monotonic()
    incoming = await Inbox(db, "RU").incoming(gateway, Incoming(sender="89165554433", recipient="+74950000001",
                                                                body="Спасибо, заеду завтра"))
    await page.wait_for_selector(f"#sms-{incoming}.sms-in >> text=Спасибо, заеду завтра", timeout=2000)
    assert time.monotonic() - started < 2
    for _ in range(40):  # the open chat marks it read (POST .../sms/read)
        async with db.acquire() as conn:
            if await conn.fetchval("SELECT read_at IS NOT NULL FROM sms_messages WHERE id = $1", incoming):
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the incoming message was not marked read while the chat was open")

    # The server restarts (a deploy): the dropped stream comes back by itself and the chat is live again.
    await page.wait_for_selector("#sms[data-live='1']")
    web_server.stop()
    await page.wait_for_selector("#sms:not([data-live='1'])", timeout=5000)
    await web_server.start()
    await page.wait_for_selector("#sms[data-live='1']", timeout=10000)
    later = await Inbox(db, "RU").incoming(gateway, Incoming(sender="+79165554433", recipient="+74950000001",
                                                             body="И ещё вопрос"))
    await page.wait_for_selector(f"#sms-{later} >> text=И ещё вопрос", timeout=2000)
