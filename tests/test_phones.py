import pytest

from crm.phones import InvalidPhone, caller_match_key, normalize_phone


@pytest.mark.parametrize("written", [
    "8 (495) 123-45-67", "+7 495 123 45 67", "74951234567", "+7 495 1234567", "8-495-123-45-67",
    "7 (495) 123-45-67",
])
def test_written_forms_of_one_number_normalise_to_one_e164(written):
    assert normalize_phone(written, "RU") == "+74951234567"


@pytest.mark.parametrize("short", ["101", "5", "2000", "123456"])
def test_internal_extensions_stay_as_they_are(short):
    assert normalize_phone(short, "RU") == short


def test_foreign_numbers_keep_their_country():
    assert normalize_phone("+44 20 7946 0958", "RU") == "+442079460958"
    assert normalize_phone("380441234567", "RU") == "+380441234567"


def test_region_setting_decides_national_numbers():
    assert normalize_phone("(212) 555-0199", "US") == "+12125550199"


@pytest.mark.parametrize("bad", ["", "   ", "abc", "8 495 CALL-ME", "+7 495", "12345678901234567"])
def test_malformed_numbers_are_refused_with_a_message(bad):
    with pytest.raises(InvalidPhone) as err:
        normalize_phone(bad, "RU")
    assert str(err.value)


def test_caller_match_key_never_raises_on_odd_caller_ids():
    assert caller_match_key("anonymous") is None
    assert caller_match_key("") is None
    assert caller_match_key("84951234567") == "+74951234567"
