"""E-mail on the card through HTTP (issue 23): the card's threads, a message's page, its sanitised body in a
frame of its own, attachments, the unfiled inbox and filing, replies with CSRF, the timeline's e-mail kind,
the e-mail report; rights for operator, manager, supervisor, admin and a customer's user."""

import re

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import csrf_from, log_in_as, make_user, post_form
from tests.mail_support import add_mailbox, attachment_ids, incoming

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
HTML = ('<p>Здравствуйте!</p><img src="cid:logo@shop"><img src="https://tracker.example/p.gif">'
        '<script>alert(1)</script><a href="https://shop.example/o/15" onclick="x()">заказ</a>')


@pytest.fixture
async def world(db):
    mgr = await make_user(db, "mgr", "manager", full_name="Ирина Менеджер")
    op = await make_user(db, "op", "operator")
    await make_user(db, "sup", "supervisor")
    await make_user(db, "adm", "admin")
    cust = await make_user(db, "cust")
    async with db.acquire() as conn:
        customer = await conn.fetchval("INSERT INTO customers (name) VALUES ('Alpha') RETURNING id")
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", cust["id"], customer)
        client = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Петров", first_name="Иван", responsible_user_id=mgr["id"],
            contacts=(ContactInput("email", "ivan@mail.ru"),)), "RU")
        other = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Сидоров"), "RU")
        box = await add_mailbox(conn)
        first = await incoming(conn, mailbox_id=box, from_address="ivan@mail.ru", from_name="Иван Петров",
                               subject="Заказ №15", cards=(client,), body_text="Где мой заказ?",
                               message_id="first@mail.ru")
        second = await incoming(conn, mailbox_id=box, from_address="ivan@mail.ru", from_name="Иван Петров",
                                subject="Re: Заказ №15", cards=(client,), body_text="Жду ответа", body_html=HTML,
                                message_id="second@mail.ru", in_reply_to="first@mail.ru",
                                references=("first@mail.ru",), thread_id=first,
                                attachments=(("logo.png", "image/png", PNG, "logo@shop"),
                                             ("Счёт №5.pdf", "application/pdf", b"%PDF-1.4 invoice", ""),
                                             ("huge.zip", "application/zip", None, ""),
                                             ("page.html", "text/html; charset=x", b"<script>x</script>", "")))
        stranger = [await incoming(conn, mailbox_id=box, from_address="new@firm.ru", from_name="Ольга Новикова",
                                   subject=f"Вопрос {i}", body_text="Здравствуйте") for i in (1, 2)]
        deleted = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Удалённый",
                                                                     responsible_user_id=mgr["id"]), "RU")
        gone = await incoming(conn, mailbox_id=box, from_address="old@mail.ru", subject="Старое", cards=(deleted,))
        await service.delete(conn, mgr, deleted)
        atts = await attachment_ids(conn, second)
    return {"mgr": mgr, "op": op, "client": client, "other": other, "box": box, "first": first, "second": second,
            "stranger": stranger, "gone": gone, "atts": atts}


def test_the_card_shows_its_threads_with_subject_sender_and_attachments(web, world):
    log_in_as(web, "op")
    card = web.get(f"/counterparties/{world['client']}").text
    section = card.split('id="mail"')[1].split("</section>")[0]
    assert section.count('class="mail-thread"') == 1  # the two messages are one thread
    assert "Заказ №15" in section and "Иван Петров" in section and "ivan@mail.ru" in section
    rows = re.findall(r'<tr data-id="(\d+)">', section)
    assert rows == [str(world["second"]), str(world["first"])]  # newest first
    assert f'href="/counterparties/{world["client"]}/mail/new?thread={world["first"]}"' in section
    page = web.get(f"/counterparties/{world['client']}/mail").text
    assert "Заказ №15" in page and f'/mail/{world["second"]}"' in page
    data = web.get(f"/counterparties/{world['client']}/mail", headers={"Accept": "application/json"})
    assert data.status_code == 200
    [thread] = data.json()["threads"]
    assert [m["attachments"] for m in thread["messages"]] == [4, 0]
    assert "No e-mail yet." in web.get(f"/counterparties/{world['other']}").text


def test_the_message_page_frames_the_body_sanitised(web, world):
    log_in_as(web, "op")
    page = web.get(f"/mail/{world['second']}").text
    assert "Re: Заказ №15" in page and "ivan@mail.ru" in page and "support@crm.example" in page
    frame = re.search(r'<iframe[^>]*id="mail-body"[^>]*>', page).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox allow-same-origin"' in frame
    assert "allow-scripts" not in frame and f'src="/mail/{world["second"]}/body"' in frame
    assert "1 remote image is not shown." in page and f'href="/mail/{world["second"]}?remote=1"' in page
    assert "<script>alert" not in page
    assert "Счёт №5.pdf" in page and "too big to keep" in page
    body = web.get(f"/mail/{world['second']}/body")
    csp = body.headers["content-security-policy"]
    assert csp.startswith("sandbox ") and "allow-scripts" not in csp and "script-src" not in csp
    assert "default-src 'none'" in csp and "img-src 'self' data:;" in csp
    assert "<script" not in body.text and "onclick" not in body.text and "tracker.example" not in body.text
    assert f'<img src="/mail/attachments/{world["atts"][0]}?inline=1">' in body.text
    assert 'rel="noopener noreferrer"' in body.text and "Здравствуйте!" in body.text
    shown = web.get(f"/mail/{world['second']}/body?remote=1")
    assert 'src="https://tracker.example/p.gif"' in shown.text and "<script" not in shown.text
    assert "img-src 'self' data: https: http:;" in shown.headers["content-security-policy"]
    with_remote = web.get(f"/mail/{world['second']}?remote=1").text
    assert f'src="/mail/{world["second"]}/body?remote=1"' in with_remote and "remote image is not shown" not in with_remote
    plain = web.get(f"/mail/{world['first']}").text
    assert 'id="mail-text"' in plain and "Где мой заказ?" in plain and "<iframe" not in plain


def test_attachments_download_with_their_names_and_types(web, world):
    log_in_as(web, "op")
    png, pdf, huge, html = world["atts"]
    r = web.get(f"/mail/attachments/{pdf}")
    assert r.status_code == 200 and r.content == b"%PDF-1.4 invoice"
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"____ _5.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%965.pdf")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"
    inline = web.get(f"/mail/attachments/{png}?inline=1")
    assert inline.headers["content-disposition"].startswith("inline;") and inline.content == PNG
    assert web.get(f"/mail/attachments/{png}").headers["content-disposition"].startswith("attachment;")
    page = web.get(f"/mail/attachments/{html}?inline=1")  # never inline, never sniffed as HTML
    assert page.headers["content-disposition"].startswith("attachment;")
    assert page.headers["content-type"] == "application/octet-stream"
    assert web.get(f"/mail/attachments/{huge}").status_code == 404
    assert web.get("/mail/attachments/999999").status_code == 404


@pytest.mark.parametrize("role_login, sees_deleted", [("op", False), ("mgr", False), ("sup", True), ("adm", True)])
def test_who_reads_which_message(web, world, role_login, sees_deleted):
    log_in_as(web, role_login)
    assert web.get(f"/mail/{world['second']}").status_code == 200
    assert web.get(f"/mail/{world['second']}/body").status_code == 200
    assert web.get(f"/mail/attachments/{world['atts'][1]}").status_code == 200
    # A deleted card's e-mail: as the card - only who sees deleted cards.
    expected = 200 if sees_deleted else 404
    assert web.get(f"/mail/{world['gone']}").status_code == expected
    assert web.get(f"/mail/{world['gone']}/body").status_code == expected
    if not sees_deleted:  # (a stream that may be read never ends: only the refusal is asked for here)
        assert web.get(f"/mail/{world['gone']}/events").status_code == 404
    # Unfiled e-mail: the roles that file it.
    files = role_login != "op"
    assert web.get(f"/mail/{world['stranger'][0]}").status_code == (200 if files else 404)
    assert web.get("/mail/unfiled").status_code == (200 if files else 403)
    assert web.get("/reports/mail").status_code == (200 if files else 403)
    assert web.get("/mail/999999").status_code == 404


def test_a_customers_user_gets_404_everywhere_in_email(web, world):
    log_in_as(web, "cust")
    for path in (f"/mail/{world['second']}", f"/mail/{world['second']}/body", f"/mail/attachments/{world['atts'][1]}",
                 f"/mail/{world['second']}/events",
                 "/mail/unfiled", f"/counterparties/{world['client']}/mail",
                 f"/counterparties/{world['client']}/mail/new", "/reports/mail", "/api/reports/mail"):
        assert web.get(path).status_code == 404, path
    token = web.cookies["pbxcrm_csrf"]
    assert web.post(f"/counterparties/{world['client']}/mail", data={"csrf_token": token, "to": "ivan@mail.ru",
                                                                     "subject": "x", "body": "y"}).status_code == 404
    assert web.post(f"/mail/{world['stranger'][0]}/file",
                    data={"csrf_token": token, "counterparty_id": world["client"]}).status_code == 404


async def test_filing_an_unknown_sender_files_all_their_mail_and_learns_the_address(web, world, db):
    log_in_as(web, "op")
    assert post_form(web, f"/mail/{world['stranger'][0]}/file", {"counterparty_id": world["other"]}).status_code == 403
    log_in_as(web, "mgr")
    inbox = web.get("/mail/unfiled").text
    assert "Вопрос 1" in inbox and "Вопрос 2" in inbox and "Заказ" not in inbox
    page = web.get(f"/mail/{world['stranger'][0]}").text
    assert 'id="mail-file"' in page and 'name="counterparty_id"' in page and "Ольга Новикова" in page
    assert post_form(web, f"/mail/{world['stranger'][0]}/file", {"counterparty_id": 999999}).status_code == 404
    for action, data in (("file", {"counterparty_id": world["other"]}), ("file-new", {"name": "X"})):
        no_csrf = web.post(f"/mail/{world['stranger'][0]}/{action}", data=data, follow_redirects=False)
        assert no_csrf.status_code == 403, action
    r = post_form(web, f"/mail/{world['stranger'][0]}/file", {"counterparty_id": world["other"]})
    assert r.status_code == 303 and r.headers["location"] == f"/counterparties/{world['other']}#mail"
    async with db.acquire() as conn:
        filed = await conn.fetch("SELECT message_id, counterparty_id, filed_by, filed_by_user_id FROM mail_message_cards "
                                 "WHERE message_id = ANY($1::bigint[]) ORDER BY message_id", world["stranger"])
        statuses = await conn.fetchval("SELECT array_agg(DISTINCT status) FROM mail_messages WHERE id = ANY($1::bigint[])",
                                       world["stranger"])
        contact = await conn.fetchrow("SELECT counterparty_id, kind, value, auto_added FROM contacts "
                                      "WHERE normalized = 'new@firm.ru'")
        audited = await conn.fetchrow("SELECT action, changes FROM audit_log WHERE entity = 'counterparty' "
                                      "AND entity_id = $1 AND action = 'file email'", world["other"])
    assert [(f["counterparty_id"], f["filed_by"], f["filed_by_user_id"]) for f in filed] == \
        [(world["other"], "user", world["mgr"]["id"])] * 2
    assert statuses == ["filed"]
    assert dict(contact) == {"counterparty_id": world["other"], "kind": "email", "value": "new@firm.ru", "auto_added": True}
    assert audited is not None and "new@firm.ru" in audited["changes"]
    assert "Вопрос 1" not in web.get("/mail/unfiled").text
    card = web.get(f"/counterparties/{world['other']}").text
    assert "Вопрос 1" in card.split('id="mail"')[1]
    # Filed already: said, nothing changed.
    assert post_form(web, f"/mail/{world['stranger'][0]}/file", {"counterparty_id": world["client"]}).status_code == 409


async def test_a_card_from_the_sender(web, world, db):
    log_in_as(web, "sup")
    r = post_form(web, f"/mail/{world['stranger'][1]}/file-new", {"name": "Ольга Новикова"})
    assert r.status_code == 303
    new_card = int(r.headers["location"].split("/")[2].split("#")[0])
    async with db.acquire() as conn:
        name = await conn.fetchval("SELECT display_name FROM counterparties WHERE id = $1", new_card)
        on_card = await conn.fetchval("SELECT count(*) FROM mail_message_cards WHERE counterparty_id = $1", new_card)
        owner = await conn.fetchval("SELECT counterparty_id FROM contacts WHERE normalized = 'new@firm.ru'")
    assert name == "Ольга Новикова" and on_card == 2 and owner == new_card


def _compose(web, client, thread=None):
    return web.get(f"/counterparties/{client}/mail/new" + (f"?thread={thread}" if thread else "")).text


async def test_a_reply_from_the_card_is_queued_threaded_and_on_the_timeline(web, world, db):
    log_in_as(web, "op")
    form = _compose(web, world["client"], world["first"])
    assert 'value="Re: Заказ №15"' in form and '<option value="ivan@mail.ru"' in form
    assert f'name="thread" value="{world["first"]}"' in form
    data = {"thread": world["first"], "to": "ivan@mail.ru", "subject": "Re: Заказ №15", "body": "Отправлен сегодня."}
    no_csrf = web.post(f"/counterparties/{world['client']}/mail", data=data, follow_redirects=False)
    assert no_csrf.status_code == 403
    r = web.post(f"/counterparties/{world['client']}/mail", data={"csrf_token": csrf_from(form), **data},
                 follow_redirects=False)
    assert r.status_code == 303
    reply_id = int(r.headers["location"].rsplit("/", 1)[1])
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM mail_messages WHERE id = $1", reply_id)
        filed = await conn.fetchval("SELECT counterparty_id FROM mail_message_cards WHERE message_id = $1", reply_id)
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'send email' AND entity_id = $1",
                                      world["client"])
    assert row["direction"] == "out" and row["status"] in ("queued", "sending", "failed")
    assert row["in_reply_to"] == "second@mail.ru" and row["references_ids"] == ["first@mail.ru", "second@mail.ru"]
    assert row["thread_id"] == world["first"] and row["mailbox_id"] == world["box"]
    assert row["from_address"] == "support@crm.example" and row["message_id"].endswith("@crm.example")
    assert row["to_addresses"] == ["ivan@mail.ru"] and row["user_id"] == world["op"]["id"]
    assert filed == world["client"] and audited == 1
    timeline = web.get(f"/counterparties/{world['client']}?kinds=email").text.split('id="timeline"')[1]
    assert f'href="/mail/{reply_id}"' in timeline and "outgoing e-mail" in timeline and "incoming e-mail" in timeline
    assert timeline.index(f'/mail/{reply_id}"') < timeline.index(f'/mail/{world["second"]}"')
    notes_only = web.get(f"/counterparties/{world['client']}?kinds=note").text.split('id="timeline"')[1]
    assert f'/mail/{reply_id}"' not in notes_only
    page = web.get(f"/mail/{reply_id}").text
    assert "Отправлен сегодня." in page and 'id="mail-status"' in page


async def test_a_new_email_and_what_is_refused(web, world, db):
    log_in_as(web, "mgr")
    form = _compose(web, world["client"])
    assert 'name="subject" id="mail-subject" value=""' in form and 'name="thread"' not in form
    token = csrf_from(form)
    bad = web.post(f"/counterparties/{world['client']}/mail",
                   data={"csrf_token": token, "to": "someone@else.ru", "subject": "Привет", "body": "Текст письма"})
    assert bad.status_code == 400 and "someone@else.ru is not an address of this card" in bad.text
    assert "Текст письма" in bad.text  # the text typed is kept
    empty = web.post(f"/counterparties/{world['client']}/mail",
                     data={"csrf_token": token, "to": "ivan@mail.ru", "subject": "", "body": ""})
    assert empty.status_code == 400 and "write a subject" in empty.text
    # A thread of another card gives no thread: a new e-mail, not a reply into someone else's thread.
    other_thread = _compose(web, world["other"], world["first"])
    assert 'name="thread"' not in other_thread and "has no e-mail address" in other_thread
    ok = web.post(f"/counterparties/{world['client']}/mail",
                  data={"csrf_token": token, "to": "ivan@mail.ru", "subject": "Новое предложение", "body": "Текст"},
                  follow_redirects=False)
    assert ok.status_code == 303
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT id, thread_id, in_reply_to, references_ids FROM mail_messages "
                                  "WHERE subject = 'Новое предложение'")
        assert (row["thread_id"], row["in_reply_to"], row["references_ids"]) == (row["id"], "", [])
        await conn.execute("UPDATE mailboxes SET deleted_at = now()")
    none = web.post(f"/counterparties/{world['client']}/mail",
                    data={"csrf_token": token, "to": "ivan@mail.ru", "subject": "Ещё", "body": "Текст"})
    assert none.status_code == 409 and "there is no mailbox yet" in none.text


async def test_the_email_report_counts_per_operator(web, world, db):
    async with db.acquire() as conn:
        for status, subject in (("sent", "a"), ("sent", "b"), ("failed", "c")):
            await conn.execute(
                "INSERT INTO mail_messages (direction, message_id, status, user_id, subject, mailbox_id) "
                "VALUES ('out', $1, $2, $3, $4, $5)", f"{subject}@crm.example", status, world["op"]["id"], subject,
                world["box"])
    log_in_as(web, "mgr")
    page = web.get("/reports/mail").text
    row = page.split(f'data-user="{world["op"]["id"]}"')[1].split("</tr>")[0]
    assert [c for c in re.findall(r'class="(\w+)">(\d+)<', row)] == [("written", "3"), ("sent", "2"), ("failed", "1"),
                                                                        ("incoming", "0")]
    data = web.get("/api/reports/mail").json()
    by_user = {r["user_id"]: r for r in data["operators"]}
    assert by_user[world["mgr"]["id"]]["incoming"] == 3  # her client's two, and her deleted card's one
    assert data["totals"]["sent"] == 2


async def test_an_e_mail_without_a_sender_is_filed_alone_on_the_chosen_card(web, world, db):
    async with db.acquire() as conn:
        box = await conn.fetchval("SELECT id FROM mailboxes ORDER BY id LIMIT 1")
        nameless = await incoming(conn, mailbox_id=box, from_address="", subject="Без отправителя")
    log_in_as(web, "mgr")
    assert "Без отправителя" in web.get("/mail/unfiled").text
    assert post_form(web, f"/mail/{nameless}/file-new", {"name": "X"}).status_code == 409  # no address: no card
    r = post_form(web, f"/mail/{nameless}/file", {"counterparty_id": world["other"]})
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        on = await conn.fetch("SELECT counterparty_id FROM mail_message_cards WHERE message_id = $1", nameless)
        still_unfiled = await conn.fetchval("SELECT count(*) FROM mail_messages WHERE status = 'unfiled'")
    assert [r["counterparty_id"] for r in on] == [world["other"]]
    assert still_unfiled == len(world["stranger"])  # the others stay for their own sender
