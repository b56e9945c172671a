"""The throttle's decision and the rules for new passwords, without I/O (issue 12)."""

import datetime as dt

import pytest

from crm import passwords
from crm.users import throttle

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("failures, expected", [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (12, 128), (14, 512),
                                                (15, 900), (130, 900), (10**9, 900)])
def test_a_login_waits_twice_as_long_after_each_failure_past_five_up_to_15_minutes(failures, expected):
    assert throttle.wait_seconds(throttle.LOGIN, failures, T0, T0) == expected


def test_the_wait_counts_from_the_last_failure():
    assert throttle.wait_seconds(throttle.LOGIN, 8, T0, at(3)) == 5  # 8 s after the last failure
    assert throttle.wait_seconds(throttle.LOGIN, 8, T0, at(8)) == 0
    assert throttle.wait_seconds(throttle.LOGIN, 130, T0, at(899)) == 1
    assert throttle.wait_seconds(throttle.LOGIN, 130, T0, at(900)) == 0


def test_failures_are_forgotten_after_a_quiet_day_for_a_login_and_an_hour_for_an_address():
    assert throttle.current_failures(throttle.LOGIN, 30, T0, at(86399)) == 30
    assert throttle.current_failures(throttle.LOGIN, 30, T0, at(86400)) == 0
    assert throttle.current_failures(throttle.LOGIN, 30, None, T0) == 0
    assert throttle.wait_seconds(throttle.ADDRESS, 19, T0, T0) == 0
    assert throttle.wait_seconds(throttle.ADDRESS, 20, T0, T0) == 1
    assert throttle.current_failures(throttle.ADDRESS, 50, T0, at(3600)) == 0


def test_a_custom_policy_scales_the_delay():
    slow = throttle.Policy(free_failures=2, base_delay=60, max_delay=300)
    assert [throttle.wait_seconds(slow, n, T0, T0) for n in (1, 2, 3, 4, 5)] == [0, 60, 120, 240, 300]


@pytest.mark.parametrize("seconds, words", [(0.2, "in 1 second"), (1, "in 1 second"), (40.5, "in 41 seconds"),
                                            (59, "in 59 seconds"), (59.2, "in 1 minute"), (60, "in 1 minute"), (61, "in 2 minutes"), (120, "in 2 minutes"),
                                            (900, "in 15 minutes")])
def test_the_wait_in_words_rounds_up(seconds, words):
    assert throttle.in_words(seconds) == words


@pytest.mark.parametrize("password, rule", [
    ("short1!", "at least 10 characters"),
    ("qwertyuiop", "most common passwords"),
    ("Password123", "most common passwords"),
    ("1234567890", "most common passwords"),
    ("Manchester", "most common passwords"),
    ("dragon2024!", "common password with digits or symbols added"),
    ("!!sunshine1234", "common password with digits or symbols added"),
    ("ivanova.anna", "not be the login or the user's name"),
    ("IvanovaAnna", "not be the login or the user's name"),
    ("x" * 1025, "at most 1024 characters"),
])
def test_weak_new_passwords_are_refused_naming_the_rule(password, rule):
    with pytest.raises(passwords.WeakPassword, match=rule):
        passwords.check_new_password(password, login="ivanova.anna", full_name="Ivanova Anna")


@pytest.mark.parametrize("password", ["correct horse battery", "Tr0ub4dor&3xyz", "fkd8-Ks91-pq3z",
                                      "ivanova.anna.at.work"])
def test_reasonable_passwords_pass(password):
    passwords.check_new_password(password, login="ivanova.anna", full_name="Ivanova Anna")


def test_the_common_list_is_a_real_one():
    common = passwords._common_passwords()
    assert len(common) >= 10_000 and {"123456", "password", "qwerty"} <= common
