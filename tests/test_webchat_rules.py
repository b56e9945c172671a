"""The web chat's pure rules (issue 23): origins, the signed identity, anonymised addresses, the flood
bucket, a message's size, the contacts in a message, who may see, take, write and close."""

from __future__ import annotations

import pytest

from crm.webchat import rules

pytestmark = pytest.mark.unit

SECRET = "s" * 64
NOW = 1_800_000_000


def test_an_origin_is_scheme_host_and_a_port_other_than_the_default():
    assert rules.origin_of("https://Shop.Example.com/") == "https://shop.example.com"
    assert rules.origin_of("https://shop.example.com:443") == "https://shop.example.com"
    assert rules.origin_of("http://127.0.0.1:8081/page?x=1") == "http://127.0.0.1:8081"
    for bad in ("", "null", "ftp://shop.example.com", "shop.example.com", "http://", "http://x:99999"):
        assert rules.origin_of(bad) is None


def test_only_a_listed_origin_opens_the_chat():
    allowed = ["https://shop.example.com", "http://127.0.0.1:8081"]
    assert rules.origin_allowed("https://shop.example.com", allowed)
    assert rules.origin_allowed("http://127.0.0.1:8081", allowed)
    assert not rules.origin_allowed("https://evil.example.com", allowed)
    assert not rules.origin_allowed("http://shop.example.com", allowed)  # another scheme is another origin
    assert not rules.origin_allowed("http://127.0.0.1:8082", allowed)
    assert not rules.origin_allowed(None, allowed)
    assert not rules.origin_allowed("null", allowed)
    assert not rules.origin_allowed("https://shop.example.com", [])


def test_the_admins_origins_are_parsed_and_the_wrong_ones_named():
    good, bad = rules.parse_origins("https://shop.example.com\nhttp://localhost:3000, https://shop.example.com/ "
                                    "shop.example.org https://x.example.com/path")
    assert good == ["https://shop.example.com", "http://localhost:3000"]
    assert bad == ["shop.example.org", "https://x.example.com/path"]


def _identity(**over):
    fields = {"id": "42", "email": "anna@shop.example", "name": "Anna", "ts": NOW - 60}
    fields.update(over)
    sig = rules.sign_identity(SECRET, fields["id"], fields["email"], fields["name"], int(fields["ts"]))
    return {**fields, "sig": sig}


def test_a_signed_identity_is_recognised():
    identity = rules.verify_identity(SECRET, _identity(), NOW)
    assert identity == rules.Identity("42", "anna@shop.example", "Anna")
    assert rules.verify_identity(SECRET, {**_identity(), "ts": str(NOW - 60)}, NOW) is not None


def test_a_field_with_the_separator_cannot_shift_the_signed_fields_and_an_unsigned_phone_is_not_taken():
    # The site signs the name "victim@x|Eve" for id "42|me@x"...: the same text "42|me@x|victim@x|Eve|ts"
    # would check as id "42", e-mail "me@x"... A field with "|" is refused whatever the signature.
    shifted = _identity(id="42|me@shop.example", email="victim@shop.example", name="Eve")
    assert rules.verify_identity(SECRET, shifted, NOW) is None
    assert rules.verify_identity(SECRET, _identity(name="Anna|Petrova"), NOW) is None
    # A phone beside the signed fields is the visitor's word, not the site's: not part of the identity.
    identity = rules.verify_identity(SECRET, {**_identity(), "phone": "+79161234567"}, NOW)
    assert identity is not None and identity.phone == ""


def test_a_forged_or_stale_identity_is_refused():
    signed = _identity()
    assert rules.verify_identity(SECRET, {**signed, "id": "43"}, NOW) is None  # changed after signing
    assert rules.verify_identity(SECRET, {**signed, "email": "boss@shop.example"}, NOW) is None
    assert rules.verify_identity("another secret" * 4, signed, NOW) is None
    assert rules.verify_identity(SECRET, {**signed, "sig": "0" * 64}, NOW) is None
    old = _identity(ts=NOW - rules.IDENTITY_MAX_AGE_SECONDS - 1)
    assert rules.verify_identity(SECRET, old, NOW) is None
    future = _identity(ts=NOW + rules.IDENTITY_CLOCK_SKEW_SECONDS + 10)
    assert rules.verify_identity(SECRET, future, NOW) is None
    for broken in (None, [], {"id": "42"}, {**signed, "ts": "soon"}, {**signed, "ts": True}, {**signed, "id": 42}):
        assert rules.verify_identity(SECRET, broken, NOW) is None
    assert rules.verify_identity("", signed, NOW) is None  # a site without a secret recognises nobody


def test_addresses_are_anonymised_to_their_network():
    assert rules.anonymize_ip("203.0.113.77") == "203.0.113.0"
    assert rules.anonymize_ip("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"
    assert rules.anonymize_ip("not an address") == ""
    assert rules.stored_ip("203.0.113.77", False) == "203.0.113.77"
    assert rules.stored_ip("203.0.113.77", True) == "203.0.113.0"


def test_the_flood_bucket_allows_a_burst_then_its_rate():
    bucket = None
    allowed = []
    for _ in range(7):
        ok, bucket = rules.take_token(bucket, 100.0, rate=1.0, burst=5.0)
        allowed.append(ok)
    assert allowed == [True] * 5 + [False] * 2
    ok, bucket = rules.take_token(bucket, 100.5, rate=1.0, burst=5.0)
    assert not ok
    ok, bucket = rules.take_token(bucket, 101.1, rate=1.0, burst=5.0)
    assert ok
    ok, bucket = rules.take_token(bucket, 10_000.0, rate=1.0, burst=5.0)
    assert ok and bucket.tokens == 4.0  # a long pause fills it up to the burst only


def test_a_message_is_plain_text_within_its_limit():
    assert rules.clean_text("  hello\x00 <b>there</b>\n ") == ("hello <b>there</b>", None)
    assert rules.clean_text("   ") == (None, "empty")
    assert rules.clean_text(None) == (None, "empty")
    assert rules.clean_text(5) == (None, "empty")
    assert rules.clean_text("x" * rules.MAX_MESSAGE_CHARS)[0] is not None
    assert rules.clean_text("x" * (rules.MAX_MESSAGE_CHARS + 1)) == (None, "too_long")


def test_contacts_a_visitor_wrote_are_found():
    emails, phones = rules.contacts_in("call me at +7 (916) 555-44-33 or write to Anna.K@Shop.example.com, thanks")
    assert emails == ["Anna.K@Shop.example.com"]
    assert phones == ["+7 (916) 555-44-33"]
    assert rules.contacts_in("order 12345, room 7") == ([], [])


OPERATOR = {"id": 1, "role": "operator"}
OTHER = {"id": 2, "role": "operator"}
SUPERVISOR = {"id": 3, "role": "supervisor"}


def _chat(status, operator=None, card=None):
    return {"status": status, "operator_user_id": operator, "counterparty_id": card}


def test_operators_see_waiting_chats_and_their_own_supervisors_all():
    assert rules.may_see(OPERATOR, _chat("waiting"))
    assert rules.may_see(OPERATOR, _chat("active", 1))
    assert not rules.may_see(OTHER, _chat("active", 1))
    assert not rules.may_see(OTHER, _chat("closed", 1))
    assert rules.may_see(OTHER, _chat("closed", 1, card=9), sees_card=True)
    assert rules.may_see(SUPERVISOR, _chat("closed", 1))


def test_only_the_operator_who_took_it_writes_and_closes():
    assert rules.may_take(OTHER, _chat("waiting")) and not rules.may_take(OTHER, _chat("active", 1))
    assert rules.may_write(OPERATOR, _chat("active", 1))
    assert not rules.may_write(OTHER, _chat("active", 1))
    assert not rules.may_write(OPERATOR, _chat("closed", 1))
    assert rules.may_close(OPERATOR, _chat("active", 1)) and rules.may_close(SUPERVISOR, _chat("active", 1))
    assert not rules.may_close(OTHER, _chat("active", 1))
    assert rules.may_attach(OPERATOR, _chat("closed", 1)) and not rules.may_attach(OTHER, _chat("closed", 1))
