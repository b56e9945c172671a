"""crm.sms.model without I/O: parts, encodings, transitions (issue 21)."""

from crm.sms import model


def test_a_200_character_cyrillic_text_takes_three_ucs2_parts():
    s = model.split("Ж" * 200)
    assert (s.encoding, s.units, s.parts) == ("ucs2", 200, 3)


def test_gsm7_limits_and_extension_characters_cost_two_septets():
    assert model.split("a" * 160).parts == 1
    assert model.split("a" * 161).parts == 2
    assert model.split("€" * 80).units == 160
    assert model.split("€" * 81).parts == 2
    assert model.split("a" * 70 + "ы").encoding == "ucs2"


def test_final_statuses_never_move_and_receipts_may_skip_submitted():
    assert model.can_move("queued", "submitting")
    assert model.can_move("submitting", "delivered")
    assert not model.can_move("delivered", "undelivered")
    assert not model.can_move("failed", "queued")
    assert not model.can_move("received", "failed")


def test_combined_status_of_parts():
    assert model.combined_status(["delivered", "delivered"]) == "delivered"
    assert model.combined_status(["delivered", "submitted"]) is None
    assert model.combined_status(["delivered", "undelivered"]) == "undelivered"


def test_stop_words():
    assert model.is_stop_word(" STOP ") and model.is_stop_word("Стоп!")
    assert not model.is_stop_word("stop calling me at night")
