"""Reading a GSM gateway's TextMessageReceived (ari_app/sms/handlers.py, crm/sms/sip.py): pure."""

from ari_app.sms.handlers import TextMessage, dropped_body_bytes, own_number, parse
from crm.sms.sip import message_to, uri_user


def test_the_user_part_of_the_uris_asterisk_prints():
    assert uri_user('"Ivan" <sip:+79161234567@127.0.0.2:5073>;tag=1') == "+79161234567"
    assert uri_user("<sip:%2B79161234567;user=phone@gw>") == "+79161234567"
    assert uri_user("pjsip:74951230000@127.0.0.1") == "74951230000"
    assert uri_user("sip:127.0.0.2") == "" and uri_user("mailto:a@b") == "" and uri_user("") == ""
    assert message_to("gsmgw", "+79161234567") == "pjsip:PJSIP/+79161234567@gsmgw"


def test_an_event_becomes_the_gateways_message_or_nothing():
    event = {"type": "TextMessageReceived", "endpoint": {"technology": "PJSIP", "resource": "gsmgw"},
             "message": {"from": "<sip:+79161234567@127.0.0.2>", "to": "pjsip:74951230000@127.0.0.1",
                         "body": "Привет", "variables": {}}}
    assert parse(event) == TextMessage("gsmgw", "+79161234567", "74951230000", "Привет")
    assert parse({**event, "endpoint": {"technology": "XMPP", "resource": "x"}}) is None
    assert parse({**event, "message": {**event["message"], "body": "  "}}) is None
    assert parse({**event, "message": {**event["message"], "from": "sip:gw.example"}}) is None


def test_our_number_is_the_to_user_when_it_is_a_number_else_the_gateways():
    assert own_number("74951230000", "+74959999999", "RU") == "+74951230000"
    assert own_number("sim1", "+74959999999", "RU") == "+74959999999"
    assert own_number("", "+74959999999", "RU") == "+74959999999"


def test_a_body_asterisk_did_not_pass_on_is_told_by_its_length():
    """Asterisk 22 hands on a MESSAGE body of at most 1 KB; a longer one comes as an empty body."""
    message = {"from": "<sip:+79161234567@gw>", "to": "pjsip:1@h", "body": "", "variables": {"Content-Length": "1400"}}
    event = {"endpoint": {"technology": "PJSIP", "resource": "gsmgw"}, "message": message}
    assert parse(event) is None and dropped_body_bytes(event) == 1400
    assert dropped_body_bytes({**event, "message": {**message, "body": "ok"}}) == 0
    assert dropped_body_bytes({"message": {"variables": []}}) == 0
