"""The audit's one diff shape, its masking and how rows of any age read (pure, no I/O)."""

from __future__ import annotations

import pytest

from crm import audit
from crm.audit.changes import changes_of, value_text

pytestmark = pytest.mark.unit


def test_diff_keeps_only_what_changed_as_old_new_pairs():
    assert audit.diff({"a": 1, "b": "x", "c": (1, 2)}, {"a": 2, "b": "x", "c": [1, 2]}) == {"a": [1, 2]}
    assert audit.diff(None, {"name": "Sales", "empty": None}) == {"name": [None, "Sales"]}
    assert audit.diff({"name": "Sales"}, None) == {"name": ["Sales", None]}
    assert audit.diff({"a": 1, "b": 1}, {"a": 2, "b": 2}, ("b",)) == {"b": [1, 2]}
    assert audit.diff({"ids": {3, 1}}, {"ids": {1, 2}}) == {"ids": [[1, 3], [1, 2]]}


def test_bare_values_become_pairs_by_what_the_action_did():
    assert audit.canonical("login", {"login": "anna"}) == {"login": [None, "anna"]}
    assert audit.canonical("remove contact", {"phone": "+7"}) == {"phone": ["+7", None]}
    assert audit.canonical("update", {"x": [1, 2]}) == {"x": [1, 2]}


@pytest.mark.parametrize("field", ["password", "new_password", "password_hash", "totp_secret", "token",
                                   "recovery_codes", "api_token"])
def test_secrets_are_masked_but_their_change_is_kept(field):
    assert audit.masked({field: ["old", "new"]}) == {field: [audit.MASK, audit.MASK]}
    assert audit.masked({field: [None, "new"]}) == {field: [None, audit.MASK]}
    assert audit.masked({"login": ["a", "b"]}) == {"login": ["a", "b"]}


def test_addresses_that_are_not_ip_addresses_are_not_stored():
    with audit.acting_from("testclient"):
        assert audit.current_address() is None
    with audit.acting_from("2001:db8::1"):
        assert audit.current_address() == "2001:db8::1"
    assert audit.current_address() is None


def test_rows_of_any_age_read_as_lines():
    [line] = changes_of("update", '{"status": ["active", "archived"]}', True, "counterparty")
    assert (line.title, line.old, line.new, line.pair) == ("Status", "active", "archived", True)
    # Before migration 0030 a two-item list on a save was a value, not a change.
    [line] = changes_of("save", {"members": [3, 4]}, False)
    assert (line.old, line.new, line.pair) == (None, [3, 4], False)
    [line] = changes_of("update", {"remark": ["a", "b"]}, False)
    assert (line.old, line.new, line.pair) == ("a", "b", True)
    assert changes_of("delete", "{}", False) == []
    assert [c.title for c in changes_of("x", {"unknown_field": [None, 1]})] == ["unknown_field"]


def test_values_in_words():
    assert value_text(True) == "yes" and value_text(None) == ""
    assert value_text([1, "a"]) == "1, a" and value_text({"1": "queue:5"}) == "1: queue:5"
