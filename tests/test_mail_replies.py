"""A reply's headers and the pure rules around e-mail (crm/mail/replies.py, outbox.py, reading.py): threading,
Cyrillic subjects and names encoded, whom a reply may go to, retries, who reads what."""

import datetime as dt
import email
import email.policy

import pytest

from crm.errors import ValidationError
from crm.mail import outbox, reading, replies
from web.views.mail import content_disposition

UTC = dt.timezone.utc


@pytest.mark.parametrize("subject, expected", [
    ("Order 15", "Re: Order 15"), ("Re: Order 15", "Re: Order 15"), ("RE: re: Order", "Re: Order"),
    ("Отв: Заказ №15", "Re: Заказ №15"), ("Re[2]: Счёт", "Re: Счёт"), ("", "Re:"), ("  Aw: Rechnung ", "Re: Rechnung"),
])
def test_reply_subject(subject, expected):
    assert replies.reply_subject(subject) == expected


def test_references_follow_the_thread():
    thread = [{"message_id": "a@x", "references_ids": []},
              {"message_id": "b@y", "references_ids": ["a@x"]},
              {"message_id": "c@x", "references_ids": ["a@x", "b@y"]}]
    assert replies.references(thread) == ("c@x", ["a@x", "b@y", "c@x"])
    # The last message has no References of its own: the thread's ids stand in.
    assert replies.references([{"message_id": "a@x", "references_ids": []},
                               {"message_id": "b@y", "references_ids": []}]) == ("b@y", ["a@x", "b@y"])
    assert replies.references([]) == ("", [])


def test_long_reference_chains_keep_the_first_and_the_latest():
    ids = [f"m{i}@x" for i in range(60)]
    _, refs = replies.references([{"message_id": "last@x", "references_ids": ids}])
    assert len(refs) == replies.MAX_REFERENCES and refs[0] == "m0@x" and refs[-1] == "last@x"
    assert refs[-2] == "m59@x"


def test_message_id_is_at_the_mailboxs_domain():
    one, two = replies.new_message_id("support@crm.example"), replies.new_message_id("support@crm.example")
    assert one.endswith("@crm.example") and one != two and "<" not in one


def _row(**kw):
    return {"from_address": "support@crm.example", "from_name": "Служба поддержки", "to_addresses": ["ivan@mail.ru"],
            "subject": "Re: Заказ №15 — доставка", "message_id": "own1@crm.example", "in_reply_to": "c@x",
            "references_ids": ["a@x", "c@x"], "received_at": dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
            "body_text": "Здравствуйте, Иван!\nЗаказ отправлен.", **kw}


def test_built_reply_encodes_cyrillic_and_threads():
    raw = replies.build(_row()).as_bytes()
    assert raw.isascii()  # every header encoded (RFC 2047), the body transfer-encoded
    assert b"=?utf-8?" in raw.lower()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Re: Заказ №15 — доставка"
    assert parsed["From"].addresses[0].display_name == "Служба поддержки"
    assert parsed["From"].addresses[0].addr_spec == "support@crm.example"
    assert parsed["To"] == "ivan@mail.ru"
    assert parsed["Message-ID"] == "<own1@crm.example>"
    assert parsed["In-Reply-To"] == "<c@x>" and parsed["References"] == "<a@x> <c@x>"
    assert parsed.get_content() == "Здравствуйте, Иван!\nЗаказ отправлен.\n"


def test_a_new_email_has_no_thread_headers():
    parsed = email.message_from_bytes(replies.build(_row(in_reply_to="", references_ids=[], from_name="")).as_bytes(),
                                      policy=email.policy.default)
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["From"] == "support@crm.example"


def test_check_refuses_what_a_person_can_fix():
    assert replies.check("Ivan <IVAN@Mail.ru>", "Hello", "text") == "ivan@mail.ru"
    with pytest.raises(ValidationError) as e:
        replies.check("not an address", "", " ")
    assert set(e.value.errors) == {"to", "subject", "body"}
    with pytest.raises(ValidationError) as e:
        replies.check("a@b.ru", "two\nlines", "x")
    assert set(e.value.errors) == {"subject"}


def test_recipients_are_the_threads_sender_then_the_cards_addresses():
    card = {"contacts": [{"kind": "phone", "normalized": "+74951234567"}, {"kind": "email", "normalized": "ivan@mail.ru"},
                         {"kind": "email", "normalized": "support@crm.example"}]}
    thread = [{"direction": "in", "from_address": "Petr@Firm.ru"}, {"direction": "out", "from_address": "support@crm.example"}]
    assert replies.recipients(card, thread, {"support@crm.example"}) == ["petr@firm.ru", "ivan@mail.ru"]
    assert replies.recipients(card, [], {"support@crm.example"}) == ["ivan@mail.ru"]


def test_retries_back_off_then_fail():
    assert [outbox.backoff(n, 15).total_seconds() for n in (1, 2, 3)] == [15, 60, 240]
    assert outbox.backoff(50, 15).total_seconds() == 3600
    assert outbox.after_failure(1, 3) == "queued" and outbox.after_failure(3, 3) == "failed"


USER = {"id": 5, "role": "operator"}
MANAGER = {"id": 6, "role": "manager"}
CUSTOMER = {"id": 7, "role": "customer"}
LIVE = {"deleted_at": None}
GONE = {"deleted_at": dt.datetime(2026, 1, 1, tzinfo=UTC)}


def test_who_reads_which_email():
    filed = {"status": "filed", "direction": "in", "user_id": None}
    unfiled = {"status": "unfiled", "direction": "in", "user_id": None}
    mine = {"status": "sent", "direction": "out", "user_id": 5}
    assert reading.may_read(USER, filed, [LIVE]) and not reading.may_read(USER, filed, [GONE])
    assert not reading.may_read(USER, filed, [])
    assert not reading.may_read(USER, unfiled, []) and reading.may_read(MANAGER, unfiled, [])
    assert reading.may_read(USER, mine, [GONE]) and not reading.may_read(MANAGER, mine, [GONE])
    assert not any(reading.may_read(CUSTOMER, m, [LIVE]) for m in (filed, unfiled, mine))
    assert {"admin": reading.may_file({"role": "admin"}), "operator": reading.may_file(USER)} == {
        "admin": True, "operator": False}


def test_a_card_from_the_sender():
    card = reading.sender_card("Иван Петров", "ivan@mail.ru")
    assert card.kind == "client" and card.last_name == "Иван Петров"
    assert [(c.kind, c.value) for c in card.contacts] == [("email", "ivan@mail.ru")]
    assert reading.sender_card(" ", "ivan.p@mail.ru").last_name == "ivan.p"


def test_content_disposition_names_any_file():
    assert content_disposition("attachment", "Счёт №5.pdf") == (
        "attachment; filename=\"____ _5.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%965.pdf")
    header = content_disposition("attachment", 'a"b\r\nX-Evil: 1.txt')
    assert "\r" not in header and "\n" not in header and 'filename="a\'b  X-Evil: 1.txt"' in header
    assert content_disposition("inline", "") .startswith('inline; filename="attachment"')
