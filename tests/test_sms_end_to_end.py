"""SMS end to end (issue 21, "Done when"), every piece real on loopback: the admin pages (HTTP) set up the
SMPP gateway and the default number, `pbxcrm sms` (its own process) picks them up at once, the SMSC is
Net::SMPP (tests/smsc.pl), the operator's chat is Chromium on a `pbxcrm web` process.

1. A 200-character Cyrillic text typed in the card's chat leaves as 3 UCS-2 parts with one UDH reference;
   the SMSC's receipts turn it "delivered" in the open chat within 2 s of the last one.
2. An SMS from a known client's number shows live in its open chat, on the card's timeline, and its
   responsible manager is notified.
3. An SMS from an unknown number, attached from the SMS list, shows live in the card's open chat;
   4. the reply typed there goes out through the SMSC to that number.
"""

from __future__ import annotations

import time

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, csrf_from, login, make_user
from tests.sms_support import OUR_NUMBER, Smsc, start_worker
from tests.telephony import wait_for

CYRILLIC_200 = ("Добрый день! Ваш заказ 4521 собран и ждёт вас в пункте выдачи на Тверской, 7, до пятницы. "
                "Возьмите паспорт. Если удобнее доставка курьером, ответьте на это сообщение, и мы её оформим. Доброго вам дня!")
KNOWN, UNKNOWN = "+79165554433", "+79035557788"


def _as(web, name: str) -> None:
    web.cookies.clear()
    assert login(web, name).status_code == 303


def _post_form(web, page: str, path: str, data: dict):
    return web.post(path, data={**data, "csrf_token": csrf_from(web.get(page).text)}, follow_redirects=False)


@pytest.fixture
async def line(db, web, database_url, tmp_path):
    """The SMSC, the worker running, and the gateway and default number an admin set up through the pages:
    the worker connects to the SMSC on the pages' NOTIFY (its periodic reload is left at 10 minutes)."""
    smsc = Smsc(tmp_path / "smsc").start()
    worker = start_worker(database_url, tmp_path / "sms.log", PBXCRM_SMS_RELOAD_SECONDS="600")
    try:
        assert await wait_for(lambda: "listening for gateway changes" in worker.log_path.read_text(), 10), \
            worker.log_text()
        await make_user(db, "anna", "admin")
        _as(web, "anna")
        admin = "/admin/sms-gateways"
        assert _post_form(web, admin, admin, {
            "name": "SMSC", "kind": "smpp", "active": "1", "host": "127.0.0.1", "port": str(smsc.port),
            "system_id": "pbxcrm", "password": "secret", "window": "10", "rate": "50",
            "enquire_link_seconds": "30"}).status_code == 303
        async with db.acquire() as conn:
            gateway = await conn.fetchval("SELECT id FROM sms_gateways")
        assert _post_form(web, admin, f"{admin}/numbers", {"number": "8 495 000-00-01", "gateway_id": str(gateway),
                                                           "is_default": "1"}).status_code == 303
        assert await wait_for(lambda: "bound pbxcrm" in (smsc.dir / "smsc.log").read_text(), 5), worker.log_text()
        yield smsc
    finally:
        worker.stop()
        smsc.stop()


@pytest.fixture
async def people(db):
    """An operator who texts from the cards, and the clients' responsible manager, who attaches."""
    await make_user(db, "oleg", "operator")
    irina = await make_user(db, "irina", "manager", full_name="Irina Manager")
    async with db.acquire() as conn:
        known = await service.create(conn, irina, CounterpartyInput(
            kind="client", last_name="Lisitsyna", responsible_user_id=irina["id"],
            contacts=(ContactInput("phone", "8 916 555-44-33"),)), "RU")
        other = await service.create(conn, irina, CounterpartyInput(
            kind="client", last_name="Orlova", responsible_user_id=irina["id"]), "RU")
    return {"known": known, "other": other}


async def test_a_long_cyrillic_sms_its_receipts_and_a_reply_from_a_known_client(line, people, web, web_server,
                                                                                 chromium):
    smsc = line
    page = await logged_in_page(chromium, web_server.url, "oleg", PASSWORD)
    await page.goto(f"{web_server.url}/counterparties/{people['known']}#sms")
    await page.wait_for_selector("#sms[data-live='1']")
    await page.fill("#sms textarea[name=body]", CYRILLIC_200)
    assert len(CYRILLIC_200) == 200
    await page.click("#sms-send button[type=submit]")

    delivered = page.locator("#sms .sms-out[data-status=delivered]")
    await delivered.wait_for(timeout=10000)
    seen = time.time()
    parts = smsc.accepted()
    receipts = smsc.receipts_sent()
    assert len(parts) == 3 and {p["data_coding"] for p in parts} == {8}
    assert len({p["udh"][:8] for p in parts}) == 1 and parts[0]["udh"][:6] == "050003"  # one 8-bit reference
    assert [p["udh"][8:] for p in parts] == ["0301", "0302", "0303"]
    assert "".join(p["text"] for p in parts) == CYRILLIC_200
    assert {(p["to"], p["from"]) for p in parts} == {(KNOWN[1:], OUR_NUMBER[1:])}
    assert sorted(r["id"] for r in receipts) == sorted(p["message_id"] for p in parts)
    assert {r["stat"] for r in receipts} == {"DELIVRD"}
    assert 0 < seen - max(r["at"] for r in receipts) < 2.0, "delivered in the chat within 2 s of the last receipt"
    assert await delivered.locator(".sms-status").inner_text() == "delivered"

    # The client answers: live in the open chat, on the card's timeline, and her manager is told.
    smsc.send_mo(KNOWN[1:], OUR_NUMBER[1:], "Спасибо, заеду завтра после обеда")
    await page.wait_for_selector("#sms .sms-in >> text=Спасибо, заеду завтра после обеда", timeout=5000)
    _as(web, "irina")
    timeline = web.get(f"/counterparties/{people['known']}?kinds=sms").text
    timeline = timeline.split('<ul id="timeline">')[1].split("</ul>")[0]
    assert "incoming SMS" in timeline and "Спасибо, заеду завтра после обеда" in timeline
    assert "outgoing SMS" in timeline and CYRILLIC_200[:40] in timeline
    notes = web.get("/notifications").text.split('id="notification-list"')[1]
    assert "SMS from Lisitsyna" in notes and f'href="/counterparties/{people["known"]}#sms"' in notes
    assert "Спасибо, заеду завтра после обеда" in notes


async def test_an_unknown_senders_sms_attached_shows_in_the_open_chat_and_the_reply_goes_back(
        db, line, people, web, web_server, chromium):
    smsc = line
    smsc.send_mo(UNKNOWN[1:], OUR_NUMBER[1:], "Это Орлова, новый номер")

    async def unattached():
        async with db.acquire() as conn:
            return await conn.fetchval("SELECT id FROM sms_messages WHERE phone = $1 AND counterparty_id IS NULL",
                                       UNKNOWN)
    message_id = await wait_for(unattached, 10)
    assert message_id

    page = await logged_in_page(chromium, web_server.url, "oleg", PASSWORD)
    await page.goto(f"{web_server.url}/counterparties/{people['other']}#sms")
    await page.wait_for_selector("#sms[data-live='1']")
    assert await page.locator("#sms .sms-in").count() == 0

    _as(web, "irina")  # from the SMS list, as its attach form posts
    listed = "/sms?unattached=1"
    assert f'action="/sms/{message_id}/attach"' in web.get(listed).text
    r = _post_form(web, listed, f"/sms/{message_id}/attach", {"counterparty_id": str(people["other"])})
    assert r.status_code == 303 and r.headers["location"].endswith(f"/counterparties/{people['other']}#sms")
    await page.wait_for_selector(f"#sms-{message_id}.sms-in >> text=Это Орлова, новый номер", timeout=3000)

    # The reply: the card learned the number, so the chat's form offers it (the page opened again).
    await page.reload()
    assert await page.locator("#sms select[name=phone] option").all_inner_texts() == [UNKNOWN]
    await page.fill("#sms textarea[name=body]", "Спасибо, записали новый номер")
    await page.click("#sms-send button[type=submit]")
    await page.locator("#sms .sms-out[data-status=delivered]").wait_for(timeout=10000)
    (sent,) = smsc.accepted()
    assert (sent["to"], sent["from"], sent["text"], sent["data_coding"]) == \
        (UNKNOWN[1:], OUR_NUMBER[1:], "Спасибо, записали новый номер", 8)
