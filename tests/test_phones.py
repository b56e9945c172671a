import pytest

from crm.phones import (
    InvalidPhone,
    caller_match_key,
    is_extension_only,
    normalize_phone,
    parse_phone,
    phone_text,
    split_extension,
)


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


@pytest.mark.parametrize("written, e164", [
    ("0074951234567", "+74951234567"), ("00 7 495 123-45-67", "+74951234567"),
    ("00375291234567", "+375291234567"), ("00 44 20 7946 0958", "+442079460958"),
])
def test_a_leading_00_is_the_international_prefix(written, e164):
    assert normalize_phone(written, "RU") == e164
    assert caller_match_key(written) == e164


def test_00_does_not_turn_short_numbers_international():
    assert normalize_phone("0012", "RU") == "0012"


@pytest.mark.parametrize("written, main, extension", [
    ("8 495 123-45-67 доб. 123", "8 495 123-45-67", "123"),
    ("8 495 123-45-67 доб 123", "8 495 123-45-67", "123"),
    ("+7 495 123-45-67 ext. 123", "+7 495 123-45-67", "123"),
    ("+7 495 123-45-67 EXT 5", "+7 495 123-45-67", "5"),
    ("84951234567x123", "84951234567", "123"),
    ("8 495 123-45-67 #123", "8 495 123-45-67", "123"),
    ("8 495 123-45-67,123", "8 495 123-45-67", "123"),
    ("8 495 123-45-67, доб. 45", "8 495 123-45-67", "45"),
    ("8 495 123-45-67 вн. 12", "8 495 123-45-67", "12"),
])
def test_an_extension_is_split_off_and_the_number_is_the_main_one(written, main, extension):
    assert split_extension(written) == (main, extension)
    assert parse_phone(written, "RU") == ("+74951234567", extension)
    assert normalize_phone(written, "RU") == "+74951234567"


@pytest.mark.parametrize("written", ["8 495 123-45-67", "+7 495 123 45 67", "101", "8 495 123-45-67 123"])
def test_text_without_an_extension_mark_keeps_no_extension(written):
    assert split_extension(written) == (written, None)


def test_an_extension_alone_is_not_a_number():
    assert is_extension_only("доб. 123") and is_extension_only("ext 5") and is_extension_only("#12")
    assert not is_extension_only("101") and not is_extension_only("8 495 123-45-67 доб. 1")
    with pytest.raises(InvalidPhone):
        normalize_phone("доб. 123", "RU")
    assert phone_text("8 495 123-45-67", "123") == "8 495 123-45-67, ext. 123"
    assert phone_text("8 495 123-45-67", None) == "8 495 123-45-67"
