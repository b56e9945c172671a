"""What a ringing phone shows of the caller: the name kept whole, as a SIP quoted-string (issue 12)."""

import pytest

from ari_app.registry import caller_id_text


def test_quotes_and_backslashes_are_escaped_and_brackets_kept():
    assert caller_id_text('O\'Brien "Bob" <x> \\ Ltd', "84951234567") == \
        '"O\'Brien \\"Bob\\" <x> \\\\ Ltd" <84951234567>'


def test_a_long_name_is_not_cut_at_40_characters():
    name = "Konstantinopolsky Aleksandr Aleksandrovich of Rostov-on-Don"
    assert len(name) > 40
    assert caller_id_text(name, "84951234567") == f'"{name}" <84951234567>'


@pytest.mark.parametrize("name", ["Evil\r\nX-Injected: 1", "Tab\there", "Nul\x00byte"])
def test_line_breaks_and_control_characters_never_reach_the_header(name):
    text = caller_id_text(name, "84951234567")
    assert not any(ord(ch) < 32 for ch in text)
    assert text.startswith('"') and text.endswith('" <84951234567>')


def test_no_name_is_the_number_alone_and_the_number_cannot_break_out():
    assert caller_id_text("", "84951234567") == "84951234567"
    assert caller_id_text("   ", "84951234567") == "84951234567"
    assert caller_id_text("Ivan", '849<5>"1') == '"Ivan" <84951>'


def test_a_name_is_bounded_but_far_beyond_a_phone_screen():
    text = caller_id_text("A" * 1000, "1")
    assert text.count("A") == 200
