"""The allow-list decision and the locks' reading of the throttle, without I/O (issue 17)."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from crm.allowlist.rules import Entry, allowed, applicable, parse_address, parse_network, session_entries
from crm.errors import ValidationError
from crm.users import locks, throttle

net = ipaddress.ip_network
OPERATOR = {"id": 7, "role": "operator"}
ADMIN = {"id": 1, "role": "admin"}
OFFICE = Entry(net("192.0.2.0/24"), role="operator")
OFFICE6 = Entry(net("2001:db8:1::/48"), role="operator")


@pytest.mark.parametrize(("text", "expected"), [
    ("10.0.0.0/8", net("10.0.0.0/8")),
    (" 192.0.2.7 ", net("192.0.2.7/32")),
    ("2001:db8::/32", net("2001:db8::/32")),
    ("2001:DB8::1", net("2001:db8::1/128")),
    # An IPv4-mapped network is the IPv4 network, which the client's (unmapped) address is compared with.
    ("::ffff:10.0.0.0/104", net("10.0.0.0/8")),
    ("::ffff:192.0.2.1", net("192.0.2.1/32")),
])
def test_a_network_is_read_in_cidr_or_as_one_address(text, expected):
    assert parse_network(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "give a network"),
    ("10.0.0.0/33", "is not a network"),
    ("300.1.1.1", "is not a network"),
    ("192.0.2.0/24; drop table", "is not a network"),
    ("office", "is not a network"),
    ("10.1.2.3/8", "did you mean 10.0.0.0/8?"),
    ("2001:db8::1/32", "did you mean 2001:db8::/32?"),
])
def test_a_malformed_network_is_refused_with_the_reason(text, message):
    with pytest.raises(ValidationError) as e:
        parse_network(text)
    assert message in e.value.errors["network"]


def test_no_entry_for_the_user_or_their_role_lets_them_in_from_anywhere():
    assert allowed("198.51.100.9", OPERATOR, [Entry(net("10.0.0.0/8"), role="admin")])
    assert allowed(None, OPERATOR, [])


@pytest.mark.parametrize(("address", "inside"), [
    ("192.0.2.44", True), ("192.0.3.1", False), ("::ffff:192.0.2.44", True), ("::ffff:192.0.3.1", False),
    ("2001:db8:1:2::5", True), ("2001:db8:2::5", False),
    # An IPv6 address is never inside an IPv4 network, whatever its bits.
    ("::c000:22c", False),
    (None, False), ("unknown", False), ("fe80::1%eth0", False),
])
def test_a_role_list_holds_its_users_in_ipv4_and_ipv6(address, inside):
    assert allowed(address, OPERATOR, [OFFICE, OFFICE6]) is inside


def test_a_users_own_list_replaces_their_roles():
    home = Entry(net("203.0.113.5/32"), user_id=7)
    entries = [OFFICE, home, Entry(net("198.51.100.0/24"), user_id=8)]
    assert applicable(OPERATOR, entries) == [net("203.0.113.5/32")]
    assert allowed("203.0.113.5", OPERATOR, entries)
    assert not allowed("192.0.2.44", OPERATOR, entries)  # the office no longer: their own list is theirs
    # Another operator keeps the role's list; user 8's entry is not theirs.
    other = {"id": 9, "role": "operator"}
    assert allowed("192.0.2.44", other, entries) and not allowed("198.51.100.1", other, entries)


def test_an_address_is_read_as_the_lists_compare_it():
    assert parse_address("::ffff:203.0.113.5") == ipaddress.ip_address("203.0.113.5")
    assert parse_address(ipaddress.ip_address("::ffff:203.0.113.5")) == ipaddress.ip_address("203.0.113.5")
    assert parse_address("not an address") is None


NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def _row(scope, failures, seconds_ago):
    return {"scope": scope, "key": "petrov" if scope == "login" else "192.0.2.1", "failures": failures,
            "last_failure_at": NOW - dt.timedelta(seconds=seconds_ago), "now": NOW, "user_id": None, "full_name": None}


def test_a_lock_is_a_count_past_the_free_failures_with_its_wait(monkeypatch):
    monkeypatch.setattr(throttle, "LOGIN", throttle.Policy(free_failures=5, base_delay=60))
    assert locks.lock_of(_row("login", 4, 1)) is None
    lock = locks.lock_of(_row("login", 6, 20))  # 2^1 x 60 s after the last failure
    assert lock is not None and lock.wait_seconds == 100 and lock.until == NOW + dt.timedelta(seconds=100)
    # Its wait is over, but the next failure waits again: still shown, with no wait.
    assert locks.lock_of(_row("login", 6, 500)).wait_seconds == 0
    # Forgotten after a day without a failure.
    assert locks.lock_of(_row("login", 9, 25 * 3600)) is None
    # An address has more free failures.
    assert locks.lock_of(_row("address", 19, 1)) is None and locks.lock_of(_row("address", 20, 1)) is not None


def test_the_entries_read_with_the_session_decide_alike():
    user = {"id": 7, "role": "operator", "allow_own": [], "allow_role": [net("192.0.2.0/24")]}
    assert allowed("192.0.2.9", user, session_entries(user)) and not allowed("198.51.100.1", user, session_entries(user))
    user["allow_own"] = [net("198.51.100.0/24")]
    assert allowed("198.51.100.1", user, session_entries(user)) and not allowed("192.0.2.9", user, session_entries(user))
