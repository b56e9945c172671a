"""Dial rules, dial strings and follow me as pure functions (issue 15): crm/dialing/."""

from __future__ import annotations

import pytest

from crm.dialing.model import Dialing, FollowMe, FollowMeInput
from crm.dialing.rules import Dialling, DialRule, RuleInput, dialling, matches
from crm.dialing.technology import clean_dial, device_name, device_of
from crm.errors import ValidationError

RU = "RU"
PLUS7_TO_8 = DialRule(pattern="+7XXXXXXXXXX", strip=2, prepend="8", id=1, position=10)


def dial(number: str, *rules: DialRule) -> Dialling:
    return dialling(number, rules, default_trunk="trunk", region=RU)


# ---- patterns ----

@pytest.mark.parametrize("pattern, number, expected", [
    ("+7XXXXXXXXXX", "+74951234567", True),
    ("+7XXXXXXXXXX", "+7495123456", False),  # one digit short
    ("+7XXXXXXXXXX", "+749512345678", False),  # one too many
    ("8.", "8495", True), ("8.", "8", False),  # '.': one or more further characters
    ("NXX", "200", True), ("NXX", "100", False), ("ZXX", "100", True), ("ZXX", "012", False),
    ("*XX", "*21", True), ("112", "112", True), ("112", "113", False), ("+.", "+1", True),
])
def test_a_pattern_matches_as_in_the_dialplan(pattern, number, expected):
    assert matches(pattern, number) is expected


# ---- applying the rules ----

def test_plus_seven_becomes_eight_however_the_number_was_written():
    for written in ("+74951234567", "84951234567", "74951234567"):  # phone, national, click-to-call
        assert dial(written, PLUS7_TO_8) == Dialling("84951234567", "trunk", PLUS7_TO_8), written


def test_no_rule_matching_leaves_the_number_and_the_default_trunk():
    assert dial("0911", PLUS7_TO_8) == Dialling("0911", "trunk", None)
    assert dial("+380441234567", PLUS7_TO_8) == Dialling("+380441234567", "trunk", None)
    assert dial("84951234567") == Dialling("84951234567", "trunk", None)


def test_rules_are_tried_in_order_and_the_first_match_wins():
    mobiles = DialRule(pattern="+79XXXXXXXXX", strip=1, prepend="", trunk="trunk2", position=5, id=2)
    later_id = DialRule(pattern="+7XXXXXXXXXX", strip=0, prepend="", position=10, id=9)
    assert dial("+79161234567", PLUS7_TO_8, mobiles) == Dialling("79161234567", "trunk2", mobiles)
    assert dial("+74951234567", later_id, PLUS7_TO_8, mobiles).rule == PLUS7_TO_8  # same position: lower id first
    moved = DialRule(pattern="+79XXXXXXXXX", strip=1, prepend="", trunk="trunk2", position=50, id=2)
    assert dial("+79161234567", PLUS7_TO_8, moved) == Dialling("89161234567", "trunk", PLUS7_TO_8)


def test_a_prefix_rule_and_a_rule_on_the_digits_as_dialled():
    international = DialRule(pattern="810.", strip=3, prepend="00", id=3)
    assert dial("8103804412345", international) == Dialling("003804412345", "trunk", international)
    assert dial("84951234567", international).rule is None


def test_a_rule_that_would_leave_nothing_is_passed_over_when_met():
    empty = DialRule(pattern="+7XXXXXXXXXX", strip=12, id=1, position=1)  # only if written past the checks
    assert dial("+74951234567", empty, PLUS7_TO_8) == Dialling("84951234567", "trunk", PLUS7_TO_8)


# ---- saving a rule ----

def test_a_rule_as_typed_is_cleaned():
    rule = RuleInput(pattern=" +7xxx xxx xx xx ", strip=2, prepend="8", trunk=" trunk2 ", position=3,
                     note=" Russia ").cleaned()
    assert rule == DialRule(pattern="+7XXXXXXXXXX", strip=2, prepend="8", trunk="trunk2", position=3, note="Russia")
    assert RuleInput(pattern="8.", strip=None, position=None).cleaned() == DialRule(pattern="8.", strip=0)


def test_a_rule_that_produces_an_empty_number_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError) as e:
        RuleInput(pattern="+7XXXXXXXXXX", strip=12).cleaned()
    assert e.value.errors == {"strip": "this rule would leave nothing to dial: it matches numbers of 12 characters, "
                                       "strips 12 and prepends nothing"}
    with pytest.raises(ValidationError) as e:
        RuleInput(pattern="8.", strip=5).cleaned()  # "81" would come out empty
    assert "leave nothing to dial" in e.value.errors["strip"]
    assert RuleInput(pattern="8.", strip=5, prepend="0").cleaned().prepend == "0"  # something is left


@pytest.mark.parametrize("field, typed", [
    ("pattern", {"pattern": "+7(495)"}), ("pattern", {"pattern": ""}), ("pattern", {"pattern": "8.5"}),
    ("pattern", {"pattern": "+"}), ("pattern", {"pattern": "8&SIP/evil"}),
    ("strip", {"strip": 21}), ("prepend", {"prepend": "8,tT"}), ("prepend", {"prepend": "12+"}),
    ("trunk", {"trunk": "trunk@x"}), ("trunk", {"trunk": "a b"}), ("position", {"position": 0}),
    ("note", {"note": "x" * 101}),
])
def test_a_rule_with_a_bad_field_is_refused_on_that_field(field, typed):
    values = {"pattern": "+7XXXXXXXXXX", "strip": 2, "prepend": "8", **typed}
    with pytest.raises(ValidationError) as e:
        RuleInput(**values).cleaned()
    assert list(e.value.errors) == [field]


# ---- dial strings ----

@pytest.mark.parametrize("typed, saved", [
    ("", None), ("  ", None), ("PJSIP/101", "PJSIP/101"), ("pjsip/1001", "PJSIP/1001"), ("sip/101", "SIP/101"),
    ("IAX2/office-101", "IAX2/office-101"), ("Local/101@phones", "Local/101@phones"),
    ("local/101@phones/n", "Local/101@phones/n"), ("PJSIP/79161234567@trunk", "PJSIP/79161234567@trunk"),
])
def test_a_dial_string_of_a_known_technology_is_saved_in_asterisks_spelling(typed, saved):
    assert clean_dial(typed) == saved


@pytest.mark.parametrize("typed", [
    "DAHDI/g1/101", "PJSIP/101&PJSIP/102", "PJSIP/101,30,tT", "SIP/${EXTEN}", "Local/101", "SIP/101/n",
    "PJSIP/", "101", "PJSIP/10 1", "PJSIP/101@trunk@x", "Local/101@ctx/n/n", "PJSIP/a(b)",
])
def test_a_dial_string_that_could_inject_dialplan_or_is_unknown_is_refused(typed):
    with pytest.raises(ValidationError) as e:
        clean_dial(typed)
    assert list(e.value.errors) == ["dial"]


def test_the_device_whose_state_says_if_the_phone_is_free():
    assert device_of("PJSIP/102") == ("PJSIP", "102") and device_name("SIP/1001") == "SIP/1001"
    assert device_of("IAX2/101") == ("IAX2", "101")
    # Local channels and numbers through another endpoint have no state of their own: free.
    assert device_of("Local/101@phones") is None and device_of("PJSIP/79161234567@trunk") is None


def test_a_users_dial_string_or_the_default():
    dialing = Dialing(dials={"1001": "SIP/1001"}, follow_me={7: FollowMe("+79161234567", 10)})
    assert dialing.dial_of("1001") == "SIP/1001" and dialing.dial_of("102") == "PJSIP/102"
    assert dialing.follow_me_of(7) == FollowMe("+79161234567", 10)
    assert dialing.follow_me_of(8) is None and dialing.follow_me_of(None) is None


# ---- follow me as typed ----

def test_follow_me_keeps_the_mobile_in_international_form():
    assert FollowMeInput("8 916 123-45-67", 15).cleaned(RU) == ("+79161234567", 15)
    assert FollowMeInput("+7 916 123 45 67").cleaned(RU) == ("+79161234567", None)
    assert FollowMeInput("", None).cleaned(RU) == (None, None)


@pytest.mark.parametrize("mobile, seconds, field", [
    ("102", None, "mobile"), ("not a phone", None, "mobile"), ("", 15, "mobile"),
    ("+79161234567", 4, "follow_me_seconds"), ("+79161234567", 121, "follow_me_seconds"),
])
def test_follow_me_refuses_what_cannot_be_rung(mobile, seconds, field):
    with pytest.raises(ValidationError) as e:
        FollowMeInput(mobile, seconds).cleaned(RU)
    assert list(e.value.errors) == [field]
