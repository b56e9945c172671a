"""Incoming e-mail without IMAP (issue 23): parsing (threads, addresses, malformed MIME, no From, a huge
attachment, a made-up Message-ID) and the poller's pure decisions."""

from __future__ import annotations

from email.message import EmailMessage

from crm.mail.inbound import rules
from crm.mail.inbound.parse import digest_message_id, message_ids, parse


def _raw(**headers: str) -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hello")
    return bytes(msg)


def test_headers_addresses_and_ids_are_read_and_normalized():
    p = parse(_raw(From='"Ivan Petrov" <Ivan@Shop.TEST>', To="crm@example.test, Olga <olga@shop.test>",
                   Cc="boss@shop.test", Subject="Order   15", Message_ID="<abc@shop.test>",
                   In_Reply_To="<parent@shop.test>", References="<root@shop.test> <parent@shop.test>",
                   Date="Tue, 01 Dec 2026 10:00:00 +0300"))
    assert (p.from_name, p.from_address) == ("Ivan Petrov", "ivan@shop.test")
    assert p.to == ["crm@example.test", "olga@shop.test"] and p.cc == ["boss@shop.test"]
    assert p.message_id == "abc@shop.test" and p.in_reply_to == "parent@shop.test"
    assert p.references == ["root@shop.test", "parent@shop.test"]
    assert p.subject == "Order 15" and p.sent_at is not None and p.sent_at.utcoffset().total_seconds() == 3 * 3600
    assert p.body_text.strip() == "Hello" and p.problem == ""


def test_the_mailboxs_own_address_never_files_a_message_and_each_address_counts_once():
    p = parse(_raw(From="crm@example.test", To="Ivan@shop.test, crm@example.test", Cc="ivan@shop.test, a@b.test"))
    assert rules.card_addresses(p, "CRM@example.test") == ["ivan@shop.test", "a@b.test"]


def test_thread_parents_nearest_first_never_itself():
    p = parse(_raw(From="a@b.test", Message_ID="<m@x>", In_Reply_To="<p@x>", References="<r@x> <q@x> <p@x> <m@x>"))
    assert rules.thread_parents(p) == ["p@x", "q@x", "r@x"]
    assert rules.thread_parents(parse(_raw(From="a@b.test"))) == []


def test_a_message_without_message_id_gets_one_from_its_digest_the_same_each_time():
    raw = _raw(From="a@b.test", Subject="no id")
    first, again = parse(raw), parse(raw)
    assert first.message_id == again.message_id == digest_message_id(raw)
    assert "no Message-ID" in first.problem
    assert parse(raw + b"x").message_id != first.message_id


def test_no_from_is_kept_with_the_problem_said():
    p = parse(_raw(To="crm@example.test", Subject="anonymous"))
    assert p.from_address == "" and "no sender address" in p.problem
    assert rules.card_addresses(p, "crm@example.test") == []


def test_an_attachment_over_the_limit_is_listed_not_kept():
    msg = EmailMessage()
    msg["From"] = "a@b.test"
    msg.set_content("see attached")
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="zip", filename="big.zip")
    msg.add_attachment(b"y" * 10, maintype="image", subtype="png", filename="small.png")
    p = parse(bytes(msg), max_attachment_bytes=1000)
    big, small = p.attachments
    assert (big.filename, big.size_bytes, big.content) == ("big.zip", 2000, None) and len(big.sha256) == 64
    assert (small.filename, small.content, small.content_type) == ("small.png", b"y" * 10, "image/png")
    assert "'big.zip' is 2000 bytes, over the limit of 1000" in p.problem


def test_malformed_mime_keeps_what_can_be_read():
    raw = (b"From: a@b.test\r\nSubject: =?bogus?Q?x?=\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nstill readable \xff\r\n"
           b"--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%%%not base64\r\n")  # no closing boundary
    p = parse(raw)
    assert p.from_address == "a@b.test"
    assert "still readable" in p.body_text
    assert p.attachments and p.attachments[0].filename == "a.pdf"
    assert "not decoded as declared" in p.problem and "malformed MIME" in p.problem


def test_garbage_is_still_a_message():
    p = parse(b"\x00\xff\xfe not an e-mail at all \x00")
    assert p.message_id == digest_message_id(b"\x00\xff\xfe not an e-mail at all \x00")
    assert "\x00" not in p.body_text + p.subject


def test_message_ids_with_and_without_brackets():
    assert message_ids("<a@b> <c@d>") == ["a@b", "c@d"]
    assert message_ids("bare@id") == ["bare@id"] and message_ids("") == []


def test_the_cursor_starts_over_when_uidvalidity_changes():
    assert rules.start_after(None, 7) == 0
    assert rules.start_after((7, 42), 7) == 42
    assert rules.start_after((7, 42), 8) == 0


def test_reconnect_backoff_doubles_up_to_a_minute():
    assert [rules.reconnect_delay(n) for n in (1, 2, 3, 4, 7, 20)] == [1, 2, 4, 8, 60, 60]


def test_a_refused_message_is_tried_whole_then_headers_only_then_passed():
    assert [rules.store_plan(n) for n in (1, 2, 3, 4)] == ["full", "headers", "skip", "skip"]


def test_fetch_batches_by_count_and_size():
    sizes = [(1, 10), (2, 10), (3, 100), (4, 10), (5, 10), (6, 10)]
    assert rules.batches(sizes, max_bytes=50, max_count=2) == [[1, 2], [3], [4, 5], [6]]
    assert rules.batches([], 50, 2) == []
    assert rules.status_for(0) == "unfiled" and rules.status_for(2) == "filed"
