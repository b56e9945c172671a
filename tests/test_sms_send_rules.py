"""What a card's SMS may be (issue 21, crm/sms/service.py), without the database: the text's parts against
the limit, and the number chosen among the card's phones or typed in."""

import pytest

from crm.errors import ValidationError
from crm.sms.service import card_phone, check_text

CARD = {"contacts": [{"kind": "phone", "value": "8 916 555-44-33", "normalized": "+79165554433"},
                     {"kind": "email", "value": "a@b.ru", "normalized": "a@b.ru"}]}


def test_a_text_is_counted_in_parts_and_refused_over_the_limit():
    assert (check_text("Hi", 10).encoding, check_text("Hi", 10).parts) == ("gsm7", 1)
    assert check_text("ж" * 134, 2).parts == 2
    with pytest.raises(ValidationError) as e:
        check_text("ж" * 135, 2)
    assert e.value.errors == {"body": "the text takes 3 SMS parts; at most 2 are sent"}
    with pytest.raises(ValidationError) as e:
        check_text(" \n ", 10)
    assert "body" in e.value.errors


def test_the_number_is_the_cards_phone_or_a_valid_one_typed_in():
    assert card_phone(CARD, "8 916 555-44-33", "RU") == "+79165554433"
    assert card_phone(CARD, "+79165554433", "RU") == "+79165554433"
    assert card_phone(CARD, "8 (903) 111-22-33", "RU") == "+79031112233"
    for bad in ("", "a@b.ru", "12ab"):
        with pytest.raises(ValidationError) as e:
            card_phone(CARD, bad, "RU")
        assert "phone" in e.value.errors
