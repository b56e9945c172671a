"""The second factor's decisions without I/O (issue 17, G4): codes in a window of one step either
side, replays refused, recovery codes, who gives a second factor at login, and the throttle."""

import datetime as dt
import hashlib

import pyotp
import pytest

from crm.second_factor import totp
from crm.second_factor.totp import Step, Verdict
from crm.users import throttle

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = dt.datetime(2026, 11, 30, 12, 0, 10, tzinfo=dt.timezone.utc)  # 10 s into its step
STEP = int(T0.timestamp()) // 30


def code(step: int) -> str:
    # pyotp's own TOTP at that step's start: the code an authenticator app shows.
    return pyotp.TOTP(SECRET).at(step * 30)


def test_the_code_of_now_and_of_a_step_either_side_is_accepted_with_its_step():
    for offset in (-1, 0, 1):
        check = totp.check_code(SECRET, code(STEP + offset), T0, None)
        assert check == totp.Check(Verdict.ACCEPTED, STEP + offset)


def test_codes_two_steps_away_are_wrong():
    assert totp.check_code(SECRET, code(STEP - 2), T0, None).verdict is Verdict.WRONG
    assert totp.check_code(SECRET, code(STEP + 2), T0, None).verdict is Verdict.WRONG


def test_a_code_whose_step_is_not_past_the_last_one_used_is_a_replay():
    assert totp.check_code(SECRET, code(STEP), T0, STEP).verdict is Verdict.REPLAYED
    # A code of the step before, after this step's code was used: also spent.
    assert totp.check_code(SECRET, code(STEP - 1), T0, STEP) == totp.Check(Verdict.REPLAYED, STEP - 1)
    # The next step's code is still good.
    assert totp.check_code(SECRET, code(STEP + 1), T0, STEP) == totp.Check(Verdict.ACCEPTED, STEP + 1)
    # And a code of the current step after the previous step's was used.
    assert totp.check_code(SECRET, code(STEP), T0, STEP - 1) == totp.Check(Verdict.ACCEPTED, STEP)


def test_spaces_in_a_code_are_ignored_and_anything_but_six_digits_is_malformed():
    spaced = code(STEP)[:3] + " " + code(STEP)[3:]
    assert totp.check_code(SECRET, spaced, T0, None).verdict is Verdict.ACCEPTED
    for typed in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12345\x00"):
        assert totp.check_code(SECRET, typed, T0, None).verdict is Verdict.MALFORMED, typed


def test_a_wrong_code_of_the_right_shape_is_wrong():
    wrong = f"{(int(code(STEP)) + 1) % 1_000_000:06d}"
    assert wrong not in {code(STEP - 1), code(STEP), code(STEP + 1)}
    assert totp.check_code(SECRET, wrong, T0, None).verdict is Verdict.WRONG


def test_a_new_secret_is_base32_of_160_bits_and_its_uri_names_the_login_and_the_product():
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert secret != totp.new_secret()
    uri = totp.provisioning_uri(secret, "ivanova")
    assert uri.startswith("otpauth://totp/pbxcrm:ivanova?") and f"secret={secret}" in uri
    assert totp.formatted_secret("ABCDEFGHIJKL") == "ABCD EFGH IJKL"


def test_the_qr_code_is_an_svg_without_script_or_style():
    svg = totp.qr_svg(totp.provisioning_uri(SECRET, "ivanova")).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    assert "<script" not in svg and "style" not in svg


def test_recovery_codes_are_ten_different_readable_codes_hashed_as_typed_in_any_case():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for c in codes:
        assert len(c) == 11 and c[5] == "-" and totp.looks_like_recovery(c)
        assert not totp.looks_like_totp(c)
    c = codes[0]
    assert totp.recovery_hash(c) == hashlib.sha256(c.replace("-", "").encode()).digest()
    assert totp.recovery_hash(f" {c.upper()} ") == totp.recovery_hash(c.replace("-", ""))
    assert not totp.looks_like_recovery("123456") and not totp.looks_like_recovery("k7m2p-x9qf")


@pytest.mark.parametrize("role, enrolled, required, step", [
    ("operator", False, [], Step.NONE),
    ("operator", True, [], Step.VERIFY),
    ("operator", False, ["operator"], Step.ENROL),
    ("operator", True, ["operator"], Step.VERIFY),
    ("admin", False, ["operator"], Step.NONE),
])
def test_who_gives_a_second_factor_after_the_password(role, enrolled, required, step):
    assert totp.login_step(role, enrolled, required) is step


def test_only_a_user_whose_role_does_not_require_it_may_turn_it_off():
    assert totp.may_disable("operator", ["admin"])
    assert not totp.may_disable("admin", ["admin"])


def test_wrong_codes_are_throttled_after_five_and_forgotten_after_an_hour():
    assert throttle.wait_seconds(totp.POLICY, 4, T0, T0) == 0
    assert throttle.wait_seconds(totp.POLICY, 5, T0, T0) == 1
    assert throttle.wait_seconds(totp.POLICY, 8, T0, T0) == 8
    assert throttle.wait_seconds(totp.POLICY, 8, T0, T0 + dt.timedelta(hours=1)) == 0
