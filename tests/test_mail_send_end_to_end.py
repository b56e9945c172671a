"""Done when (issue 23): a reply from the card arrives at the SMTP server and is on the timeline.

A real `pbxcrm web` process sends it (its mail sender, web/mail_sender.py) to aiosmtpd on loopback; the
operator writes it in Chromium. The message aiosmtpd received is parsed: From, To, Subject (Cyrillic),
In-Reply-To and References of the thread. An SMTP server that is down is retried until it is up; one that
refuses is retried, then the message is failed with the server's words on its page, its text kept.
"""

import asyncio
import email
import email.policy
import os

import pytest
from aiosmtpd.controller import Controller

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.browser import WebServerProcess, free_tcp_port, logged_in_page
from tests.helpers import PASSWORD, Mailbox, make_user
from tests.mail_support import add_mailbox, incoming

REPLY = "Здравствуйте, Иван!\nЗаказ №15 отправлен сегодня, трек-номер RA123456789RU."


class Refusing(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode(errors="replace")))
        return "554 5.7.1 Message rejected by policy"


def _smtp(handler, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
async def server_for(db, database_url, tmp_path):
    """`pbxcrm web` sending through the SMTP server on `port`, retrying after 1 s, 4 s (3 attempts)."""
    servers = []

    async def start(port: int) -> WebServerProcess:
        env = dict(os.environ, DATABASE_URL=database_url, PBXCRM_SMTP_HOST="127.0.0.1", PBXCRM_SMTP_PORT=str(port),
                   PBXCRM_MAIL_RETRY_BASE_SECONDS="1", PBXCRM_MAIL_MAX_ATTEMPTS="3")
        server = WebServerProcess(env, tmp_path / f"web-{port}.log")
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def thread(db):
    op = await make_user(db, "op", "operator", full_name="Olga Operator")
    async with db.acquire() as conn:
        client = await service.create(conn, op, CounterpartyInput(
            kind="client", last_name="Петров", first_name="Иван", contacts=(ContactInput("email", "ivan@mail.ru"),)),
            "RU")
        box = await add_mailbox(conn, "support@crm.example", "Служба поддержки")
        first = await incoming(conn, mailbox_id=box, from_address="ivan@mail.ru", from_name="Иван Петров",
                               subject="Заказ №15", cards=(client,), body_text="Где мой заказ?",
                               message_id="first@mail.ru")
        await incoming(conn, mailbox_id=box, from_address="ivan@mail.ru", from_name="Иван Петров",
                       subject="Re: Заказ №15", cards=(client,), body_text="Жду ответа", message_id="second@mail.ru",
                       in_reply_to="first@mail.ru", references=("first@mail.ru",), thread_id=first)
    return {"client": client, "first": first}


async def _wait_status(db, message_id: int, wanted: set[str], timeout: float = 60) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with db.acquire() as conn:
            row = dict(await conn.fetchrow("SELECT status, attempts, error, body_text FROM mail_messages WHERE id = $1",
                                           message_id))
        if row["status"] in wanted or loop.time() > deadline:
            return row
        await asyncio.sleep(0.1)


async def _reply_in_the_browser(chromium, server, thread) -> tuple[object, int]:
    page = await logged_in_page(chromium, server.url, "op", PASSWORD)
    await page.goto(f"{server.url}/counterparties/{thread['client']}#mail")
    await page.click("#mail .mail-thread .mail-reply")
    assert await page.input_value("#mail-subject") == "Re: Заказ №15"
    assert await page.input_value("#mail-to-choice") == "ivan@mail.ru"
    await page.fill("#mail-body-text", REPLY)
    await page.click("#mail-compose button[type=submit]")
    await page.wait_for_selector("#mail-status")
    reply_id = int(page.url.rsplit("/", 1)[1])
    return page, reply_id


async def test_a_reply_from_the_card_arrives_at_the_smtp_server_and_is_on_the_timeline(db, chromium, server_for,
                                                                                       thread):
    box = Mailbox()
    controller = _smtp(box, free_tcp_port())
    try:
        server = await server_for(controller.port)
        page, reply_id = await _reply_in_the_browser(chromium, server, thread)
        # The page follows the sender live (its NOTIFY), no reload.
        await page.wait_for_selector("article.mail-message[data-status=sent]", timeout=30000)
        assert await page.inner_text("#mail-status") == "sent (1 attempt)"
        row = await _wait_status(db, reply_id, {"sent", "failed"})
        assert row["status"] == "sent" and row["attempts"] == 1, row
    finally:
        controller.stop()
    [(rcpt, raw)] = box.messages
    assert rcpt == ["ivan@mail.ru"]
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Re: Заказ №15"
    assert parsed["From"].addresses[0].display_name == "Служба поддержки"
    assert parsed["From"].addresses[0].addr_spec == "support@crm.example"
    assert parsed["To"] == "ivan@mail.ru"
    assert parsed["In-Reply-To"] == "<second@mail.ru>"
    assert parsed["References"] == "<first@mail.ru> <second@mail.ru>"
    assert parsed["Message-ID"].endswith("@crm.example>")
    assert parsed.get_content().replace("\r\n", "\n") == REPLY + "\n"
    async with db.acquire() as conn:
        stored = await conn.fetchval("SELECT message_id FROM mail_messages WHERE id = $1", reply_id)
    assert parsed["Message-ID"] == f"<{stored}>"

    await page.reload()
    assert await page.inner_text("#mail-status") == "sent (1 attempt)" and not await page.is_visible("#mail-error")
    await page.goto(f"{server.url}/counterparties/{thread['client']}?kinds=email")
    item = page.locator(f"#timeline li.item-email:has(a[href='/mail/{reply_id}'])")
    assert await item.locator(".kind").inner_text() == "outgoing e-mail"
    assert await item.locator(".mail-status").inner_text() == "sent"
    assert await item.locator(".mail-subject").inner_text() == "Re: Заказ №15"
    await item.locator(".mail-subject").click()
    await page.wait_for_url(f"{server.url}/mail/{reply_id}")
    assert "трек-номер RA123456789RU" in await page.inner_text("#mail-text")


async def test_a_server_that_is_down_is_retried_until_it_is_up(db, chromium, server_for, thread):
    port = free_tcp_port()  # nothing listens there yet
    server = await server_for(port)
    page, reply_id = await _reply_in_the_browser(chromium, server, thread)
    row = await _wait_status(db, reply_id, {"queued"} | {"failed"})
    while row["attempts"] < 1 or row["status"] == "sending":
        row = await _wait_status(db, reply_id, {"queued", "failed"})
    assert row["status"] == "queued" and "Connection refused" in row["error"], row
    await page.wait_for_selector("#mail-error:has-text('Connection refused')", timeout=30000)  # live
    assert (await page.inner_text("#mail-status")).startswith("queued (")
    box = Mailbox()
    controller = _smtp(box, port)
    try:
        row = await _wait_status(db, reply_id, {"sent", "failed"})
    finally:
        controller.stop()
    assert row["status"] == "sent" and row["attempts"] == 2, row
    await page.wait_for_selector("article.mail-message[data-status=sent]", timeout=30000)
    assert await page.inner_text("#mail-status") == "sent (2 attempts)" and not await page.is_visible("#mail-error")
    [(rcpt, raw)] = box.messages
    assert rcpt == ["ivan@mail.ru"] and "Re: " in raw


async def test_a_server_that_refuses_is_retried_then_the_message_failed_with_its_reason(db, chromium, server_for,
                                                                                       thread):
    box = Refusing()
    controller = _smtp(box, free_tcp_port())
    try:
        server = await server_for(controller.port)
        page, reply_id = await _reply_in_the_browser(chromium, server, thread)
        row = await _wait_status(db, reply_id, {"failed"})
    finally:
        controller.stop()
    assert row["status"] == "failed" and row["attempts"] == 3, row
    assert len(box.messages) == 3  # tried three times, refused each time
    assert row["error"] == "554 5.7.1 Message rejected by policy"
    assert row["body_text"] == REPLY  # nothing lost
    await page.wait_for_selector("article.mail-message[data-status=failed]", timeout=30000)  # live
    assert await page.inner_text("#mail-status") == "failed (3 attempts)"
    assert await page.inner_text("#mail-error") == "554 5.7.1 Message rejected by policy"
    await page.reload()
    assert await page.inner_text("#mail-status") == "failed (3 attempts)"
    assert await page.inner_text("#mail-error") == "554 5.7.1 Message rejected by policy"
    await page.goto(f"{server.url}/counterparties/{thread['client']}#mail")
    status = page.locator(f"#mail tr[data-id='{reply_id}'] .mail-status")
    assert "554 5.7.1 Message rejected by policy" in await status.inner_text()
