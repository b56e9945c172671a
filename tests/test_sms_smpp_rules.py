"""The SMPP adapter's and the sender's pure decisions (issue 21): parts and encodings, incoming UDH,
receipts as providers write them, the gateway config, the retry backoff."""

import pytest

from crm.sms import model
from smsd import smpp_pdu as p
from smsd.retry import Backoff, next_try
from smsd.smpp import read_config


@pytest.mark.parametrize("text", ["a" * 160, "a" * 161, "€" * 80, "€" * 81, "Я" * 70, "Я" * 71, "Я" * 200,
                                  "x" * 152 + "€", "😀" * 40])
def test_parts_are_as_many_as_the_model_counts_and_never_split_a_character(text):
    data_coding, parts = p.text_parts(text)
    assert len(parts) == model.split(text).parts
    assert data_coding == (p.DC_DEFAULT if model.encoding_of(text) == model.GSM7 else p.DC_UCS2)
    assert all(len(part) <= (160 if len(parts) == 1 else 153) for part in parts)
    assert "".join(p.decode_text(data_coding, part) for part in parts) == text


def test_several_parts_carry_one_reference_and_their_numbers():
    parts = p.with_udh([b"ab", b"cd", b"ef"], reference=0x1234)
    assert [esm for esm, _ in parts] == [p.ESM_UDHI] * 3
    assert [sm[:6].hex() for _, sm in parts] == ["050003340301", "050003340302", "050003340303"]
    assert p.with_udh([b"ab"], 7) == [(0, b"ab")]


def test_an_incoming_part_header_with_a_16_bit_reference_is_read_too():
    concat, rest = p.split_udh(p.ESM_UDHI, bytes([6, 8, 4, 0x12, 0x34, 2, 1]) + b"hi")
    assert (concat, rest) == (p.Concat(0x1234, 2, 1), b"hi")
    assert p.split_udh(0, b"hi") == (None, b"hi")


def _receipt(text: str, **tlvs: bytes) -> p.Deliver:
    tags = {"receipted_message_id": p.TLV_RECEIPTED_MESSAGE_ID, "message_state": p.TLV_MESSAGE_STATE}
    return p.Deliver("+79161234567", "74950000001", p.ESM_RECEIPT, 0, text.encode(),
                     {tags[k]: v for k, v in tlvs.items()})


def test_receipts_from_their_text_or_their_tlvs():
    text = "id:A1B2 sub:001 dlvrd:000 submit date:2611301200 done date:2611301201 stat:UNDELIV err:001 text:"
    assert p.parse_receipt(_receipt(text)) == ("A1B2", model.UNDELIVERED, "stat:UNDELIV err:001")
    assert p.parse_receipt(_receipt("", receipted_message_id=b"77\0", message_state=b"\x02"))[:2] == \
        ("77", model.DELIVERED)
    assert p.parse_receipt(_receipt("id:5 stat:EXPIRED"))[1] == model.EXPIRED
    assert p.parse_receipt(_receipt("id:5 stat:ENROUTE"))[1] is None  # not final: waited out
    assert p.parse_receipt(_receipt("id:5 stat:REJECTD"))[1] == model.FAILED


def test_addresses_international_national_and_alphanumeric():
    assert p.address("+79161234567") == (1, 1, "79161234567")
    assert p.address("900") == (0, 1, "900")
    assert p.address("MyShop") == (5, 0, "MyShop")


def test_a_gateway_config_is_checked_for_the_admin():
    with pytest.raises(ValueError, match="system_id is required"):
        read_config({"host": "smsc", "port": 2775, "password": "x"})
    with pytest.raises(ValueError, match="numbers"):
        read_config({"host": "smsc", "port": "x", "system_id": "a", "password": "b"})
    cfg = read_config({"host": "smsc", "port": "2775", "system_id": "a", "password": "b"})
    assert (cfg["port"], cfg["window"], cfg["rate"], cfg["enquire_link_seconds"]) == (2775, 10, 50, 30)


def test_retries_back_off_from_the_gateways_hint_and_stop_after_the_last_attempt():
    backoff = Backoff(base_seconds=5, max_seconds=60, max_attempts=4)
    assert [next_try(n, 1.0, backoff) for n in (1, 2, 3)] == [5, 10, 20]
    assert next_try(1, 30.0, backoff) == 30  # the gateway asked for longer
    assert next_try(3, 100.0, backoff) == 60  # never past the cap
    assert next_try(4, 1.0, backoff) is None
