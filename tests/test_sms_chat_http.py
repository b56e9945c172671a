"""The card's SMS chat through HTTP (issue 21): sending queues the message with its encoding and parts;
every refusal says why, keeps the typed text and queues nothing; do-not-text; read marks; rights in HTML
and JSON; SMS on the timeline and its "own only" switch; the account's e-mail switch."""

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.sms import queries as q
from crm.sms import service as sms_service
from crm.sms.gateway import Incoming
from crm.sms.inbox import Inbox
from tests.helpers import csrf_from, login, make_user

CYRILLIC_200 = ("Здравствуйте! Ваш заказ готов и ждёт вас в пункте выдачи на Тверской, 7. " * 3)[:200]


async def _gateway(conn) -> None:
    gateway = await conn.fetchval("INSERT INTO sms_gateways (name, kind) VALUES ('smsc', 'smpp') RETURNING id")
    await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950000001', $1, true)",
                       gateway)


@pytest.fixture
async def card(db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Lisitsyna", responsible_user_id=mgr["id"],
            contacts=(ContactInput("phone", "8 916 555-44-33"),)), "RU")
    return {"mgr": mgr, "client": client}


def _send(web, client: int, **data):
    page = web.get(f"/counterparties/{client}").text
    return web.post(f"/counterparties/{client}/sms", data={"csrf_token": csrf_from(page), **data},
                    follow_redirects=False)


async def _queued(db) -> list:
    async with db.acquire() as conn:
        return await conn.fetch("SELECT phone, body, encoding, parts, status, user_id, own_number FROM sms_messages")


async def test_a_cyrillic_text_from_the_card_is_queued_in_three_ucs2_parts(web, db, card):
    async with db.acquire() as conn:
        await _gateway(conn)
    login(web, "mgr")
    page = web.get(f"/counterparties/{card['client']}").text
    assert 'id="sms"' in page and 'name="body"' in page and "+79165554433" in page
    r = _send(web, card["client"], phone="+79165554433", body=CYRILLIC_200)
    assert r.status_code == 303 and r.headers["location"] == f"/counterparties/{card['client']}#sms"
    [row] = await _queued(db)
    assert (row["phone"], row["encoding"], row["parts"], row["status"]) == ("+79165554433", "ucs2", 3, "queued")
    assert row["user_id"] == card["mgr"]["id"] and row["own_number"] == "+74950000001"
    chat = web.get(f"/counterparties/{card['client']}/sms.json").json()
    assert [m["status"] for m in chat["messages"]] == ["queued"] and chat["messages"][0]["author"] == "Mgr"
    assert [h["status"] for h in chat["messages"][0]["history"]] == ["queued"]
    async with db.acquire() as conn:
        audited = await conn.fetchrow("SELECT action, changes FROM audit_log WHERE entity = 'counterparty' "
                                      "AND entity_id = $1 AND action = 'send sms'", card["client"])
    assert audited is not None and "3 ucs2" in audited["changes"]
    # A refusal from the gateway shows with its words.
    async with db.acquire() as conn:
        gateway = await conn.fetchval("SELECT id FROM sms_gateways")
        [claimed] = await q.claim_due(conn, "w", gateway, 10, 60)
        await q.fail(conn, claimed["id"], "refused by the SMSC: invalid destination")
    page = web.get(f"/counterparties/{card['client']}").text
    assert "refused by the SMSC: invalid destination" in page and 'data-status="failed"' in page
    # Through the API too (JSON in, the id out), a Latin text in one GSM-7 part.
    r = web.post(f"/api/counterparties/{card['client']}/sms", json={"phone": "8 916 555-44-33", "body": "Hi!"},
                 headers={"X-CSRF-Token": csrf_from(page)})
    assert r.status_code == 201
    rows = await _queued(db)
    assert (rows[-1]["encoding"], rows[-1]["parts"], rows[-1]["body"]) == ("gsm7", 1, "Hi!")


@pytest.mark.parametrize(("data", "words"), [
    ({"phone": "12ab", "body": "Hello"}, "is not a phone number an SMS can go to"),
    ({"phone": "+79165554433", "body": "   "}, "write the text of the message"),
    ({"phone": "+79165554433", "body": "я" * 700}, "the text takes 11 SMS parts; at most 10 are sent"),
])
async def test_bad_input_is_refused_clearly_with_the_text_kept_and_nothing_queued(web, db, card, data, words):
    async with db.acquire() as conn:
        await _gateway(conn)
    login(web, "mgr")
    r = _send(web, card["client"], **data)
    assert r.status_code == 400 and words in r.text
    assert 'role="alert"' in r.text and (data["body"].strip() in r.text)  # the text is still in the form
    assert await _queued(db) == []


async def test_no_gateway_and_do_not_text_are_refused_and_nothing_is_queued(web, db, card):
    login(web, "mgr")
    r = _send(web, card["client"], phone="+79165554433", body="Hello")
    assert r.status_code == 409 and "ask the administrator" in r.text and "Hello</textarea>" in r.text
    async with db.acquire() as conn:
        await _gateway(conn)
    # The do-not-text switch, with its reason shown on the chat; sending is then refused.
    page = web.get(f"/counterparties/{card['client']}").text
    r = web.post(f"/counterparties/{card['client']}/sms/opt-out",
                 data={"csrf_token": csrf_from(page), "opt_out": "1", "reason": "asked on the phone"},
                 follow_redirects=False)
    assert r.status_code == 303
    page = web.get(f"/counterparties/{card['client']}").text
    assert "Do not text: asked on the phone" in page and 'id="sms-send"' not in page
    r = _send(web, card["client"], phone="+79165554433", body="Hello")
    assert r.status_code == 409 and "asked not to be texted (asked on the phone)" in r.text
    assert await _queued(db) == []
    # Allowed again by who may edit the card (audited both ways); then it sends.
    r = web.post(f"/counterparties/{card['client']}/sms/opt-out", data={"csrf_token": csrf_from(page)},
                 follow_redirects=False)
    assert r.status_code == 303
    assert _send(web, card["client"], phone="+79165554433", body="Hello").status_code == 303
    async with db.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity_id = $1 AND action IN ('do not text', 'may text') ORDER BY id",
            card["client"])]
    assert actions == ["do not text", "may text"]


async def test_a_stop_reply_shows_on_the_chat_and_an_operator_cannot_lift_it(web, db, card):
    await make_user(db, "op", "operator")
    async with db.acquire() as conn:
        await _gateway(conn)
    await Inbox(db, "RU").incoming(1, Incoming(sender="+79165554433", recipient="+74950000001", body="STOP"))
    login(web, "op")
    page = web.get(f"/counterparties/{card['client']}").text
    assert "Do not text: replied STOP" in page and "Allow texting again" not in page
    r = web.post(f"/counterparties/{card['client']}/sms/opt-out", data={"csrf_token": csrf_from(page)},
                 follow_redirects=False)
    assert r.status_code == 403
    r = web.post(f"/api/counterparties/{card['client']}/sms", json={"phone": "+79165554433", "body": "Hello"},
                 headers={"X-CSRF-Token": csrf_from(page)})
    assert r.status_code == 409 and "replied STOP" in r.json()["error"]


async def test_incoming_messages_are_marked_read_and_the_json_says_how_many_are_not(web, db, card):
    async with db.acquire() as conn:
        await _gateway(conn)
    inbox = Inbox(db, "RU")
    first = await inbox.incoming(1, Incoming(sender="89165554433", recipient="+74950000001", body="Привет"))
    await inbox.incoming(1, Incoming(sender="89165554433", recipient="+74950000001", body="Вы тут?"))
    login(web, "mgr")
    chat = web.get(f"/api/counterparties/{card['client']}/sms").json()
    assert chat["unread"] == 2 and [m["direction"] for m in chat["messages"]] == ["in", "in"]
    page = web.get(f"/counterparties/{card['client']}").text
    assert page.count("sms-unread") == 2
    r = web.post(f"/counterparties/{card['client']}/sms/read", json={"up_to": first},
                 headers={"X-CSRF-Token": csrf_from(page), "Content-Type": "application/json"})
    assert r.json() == {"marked": 1}
    assert web.get(f"/counterparties/{card['client']}/sms.json").json()["unread"] == 1


async def test_a_card_the_user_cannot_see_has_no_chat_in_html_or_json(web, db, card):
    await make_user(db, "op", "operator")
    async with db.acquire() as conn:
        await _gateway(conn)
        await conn.execute("UPDATE counterparties SET deleted_at = now() WHERE id = $1", card["client"])
    login(web, "op")
    page = web.get("/account").text
    token = csrf_from(page)
    assert web.get(f"/counterparties/{card['client']}/sms").status_code == 404
    assert web.get(f"/api/counterparties/{card['client']}/sms").status_code == 404
    assert web.get(f"/counterparties/{card['client']}/sms/events").status_code == 404
    r = web.post(f"/counterparties/{card['client']}/sms", data={"csrf_token": token, "phone": "+79165554433",
                                                                 "body": "Hello"})
    assert r.status_code == 404
    r = web.post(f"/api/counterparties/{card['client']}/sms", json={"phone": "+79165554433", "body": "Hello"},
                 headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    r = web.post(f"/counterparties/{card['client']}/sms/read", data={"csrf_token": token, "up_to": "1"})
    assert r.status_code == 404
    assert await _queued(db) == []


async def test_sms_are_on_the_timeline_and_follow_the_own_only_switch(web, db, card):
    async with db.acquire() as conn:
        await _gateway(conn)
        company = await service.create(conn, card["mgr"], CounterpartyInput(kind="company", company_name="Vostok"),
                                       "RU")
        await service.join_company(conn, card["mgr"], card["client"], company)
        await sms_service.send_text(conn, card["mgr"], company, "+74951112233", "To the company", "RU")
        await sms_service.send_text(conn, card["mgr"], card["client"], "+79165554433", "To the client", "RU")
    await Inbox(db, "RU").incoming(1, Incoming(sender="+79165554433", recipient="+74950000001", body="Thanks"))
    login(web, "mgr")

    def items(url: str) -> str:
        return web.get(url).text.split('<ul id="timeline">')[1].split("</ul>")[0]

    timeline = items(f"/counterparties/{card['client']}?kinds=sms")
    assert "To the client" in timeline and "Thanks" in timeline and "To the company" not in timeline
    assert "incoming SMS" in timeline and "outgoing SMS" in timeline and "queued" in timeline
    everything = items(f"/counterparties/{company}?kinds=sms")
    assert "To the company" in everything and "To the client" in everything and "Thanks" in everything
    own = items(f"/counterparties/{company}?kinds=sms&own=1")
    assert "To the company" in own and "To the client" not in own and "Thanks" not in own
    # Not chosen: not shown.
    assert "To the client" not in items(f"/counterparties/{card['client']}?kinds=note")


async def test_the_account_page_switches_email_for_incoming_sms(web, db, card):
    login(web, "mgr")
    page = web.get("/account").text
    assert 'name="sms_email_notify"' in page and 'name="sms_email_notify" value="1" checked' not in page
    r = web.post("/account/sms", data={"csrf_token": csrf_from(page), "sms_email_notify": "1"},
                 follow_redirects=False)
    assert r.status_code == 303
    assert 'name="sms_email_notify" value="1" checked' in web.get("/account").text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT sms_email_notify FROM users WHERE login = 'mgr'") is True
    web.post("/account/sms", data={"csrf_token": csrf_from(page)})
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT sms_email_notify FROM users WHERE login = 'mgr'") is False


async def test_an_operator_texts_any_card_they_see(web, db, card):
    """Sending is as open as the card (an operator answers any client): queued under the operator's name."""
    op = await make_user(db, "op", "operator")
    async with db.acquire() as conn:
        await _gateway(conn)
    login(web, "op")
    assert _send(web, card["client"], phone="+79165554433", body=CYRILLIC_200).status_code == 303
    [row] = await _queued(db)
    assert (row["user_id"], row["parts"]) == (op["id"], 3)
