"""The call rules' pure evaluator (crm/calls/rules.py, issue 17 G2): first match, listen and edit need
see, the defaults as today, and the check that refuses rules locking admins out."""

from dataclasses import replace

from crm.calls.rules import (
    DEFAULT_RULES,
    DENY,
    EDIT,
    LISTEN,
    SEE,
    Facts,
    Rule,
    clean,
    decide,
    locks_out_admins,
    renumbered,
)

ADMIN, SUPERVISOR = {"id": 1, "role": "admin"}, {"id": 2, "role": "supervisor"}
ALICE = {"id": 3, "role": "manager"}
OLGA, OLEG = {"id": 5, "role": "operator"}, {"id": 6, "role": "operator"}
# Olga placed an outgoing call to Alice's client on line 7, finished.
OUT = Facts(participant_ids=frozenset({5}), direction="outgoing", finished=True, line_id=7, queue_id=None,
            responsible_user_id=3, owner_user_id=3)
IN = replace(OUT, direction="incoming", queue_id=4)
HIDE_OUTGOING = Rule(SEE, DENY, roles=frozenset({"operator"}), took_part=False,
                     directions=frozenset({"outgoing"}), position=1)


def test_the_defaults_are_todays_rules():
    everyone = (ADMIN, SUPERVISOR, ALICE, OLGA, OLEG)
    assert all(decide(DEFAULT_RULES, OUT, u, SEE) for u in everyone)
    deleted = replace(OUT, card_deleted=True)
    assert [u["id"] for u in everyone if decide(DEFAULT_RULES, deleted, u, SEE)] == [1, 2, 5]
    assert [u["id"] for u in everyone if decide(DEFAULT_RULES, OUT, u, LISTEN)] == [1, 2, 3, 5]
    assert [u["id"] for u in everyone if decide(DEFAULT_RULES, OUT, u, EDIT)] == [1, 2, 3, 5]
    # The owner is who it was when the call happened; the card's manager now edits, not listens.
    moved = replace(OUT, owner_user_id=None)
    assert not decide(DEFAULT_RULES, moved, ALICE, LISTEN) and decide(DEFAULT_RULES, moved, ALICE, EDIT)


def test_the_first_matching_rule_decides_and_none_matching_denies():
    rules = (HIDE_OUTGOING, *DEFAULT_RULES)
    assert not decide(rules, OUT, OLEG, SEE), "an operator who did not take part"
    assert decide(rules, OUT, OLGA, SEE), "she placed it"
    assert decide(rules, IN, OLEG, SEE), "incoming calls are not hidden"
    assert decide(rules, OUT, ALICE, SEE), "managers are not operators"
    # Below the rule allowing every call it is never reached.
    later = (*DEFAULT_RULES, replace(HIDE_OUTGOING, position=999))
    assert decide(later, OUT, OLEG, SEE)
    assert not decide((), OUT, ADMIN, SEE), "no rules: nobody"
    # Lines and queues: a rule naming them holds only for calls on them.
    by_line = (Rule(SEE, DENY, line_ids=frozenset({8}), position=1), *DEFAULT_RULES)
    assert decide(by_line, OUT, OLEG, SEE) and not decide(by_line, replace(OUT, line_id=8), OLEG, SEE)
    by_queue = (Rule(SEE, DENY, queue_ids=frozenset({4}), finished=True, position=1), *DEFAULT_RULES)
    assert not decide(by_queue, IN, OLEG, SEE) and decide(by_queue, replace(IN, finished=False), OLEG, SEE)


def test_listening_and_editing_need_seeing():
    rules = (HIDE_OUTGOING, *DEFAULT_RULES,)
    manager_hidden = (replace(HIDE_OUTGOING, roles=frozenset({"manager"})), *DEFAULT_RULES)
    assert decide(rules, OUT, ALICE, LISTEN)
    assert not decide(manager_hidden, OUT, ALICE, LISTEN) and not decide(manager_hidden, OUT, ALICE, EDIT)


def test_rules_that_lock_admins_out_are_found():
    assert locks_out_admins(DEFAULT_RULES) is None
    no_admin_first = DEFAULT_RULES[1:]  # admins see only their own calls and those on live cards
    found = locks_out_admins(no_admin_first)
    assert found is not None and found.card_deleted and not found.participant_ids
    everyone_hidden = (Rule(EDIT, DENY, directions=frozenset({"internal"}), position=1), *DEFAULT_RULES)
    assert locks_out_admins(everyone_hidden).direction == "internal"
    # Listening is not the check's business: admins may be kept from hearing internal calls.
    assert locks_out_admins((Rule(LISTEN, DENY, directions=frozenset({"internal"}), position=1),
                             *DEFAULT_RULES)) is None
    # A queue-only rule is found on that queue.
    by_queue = (Rule(SEE, DENY, roles=frozenset({"admin"}), queue_ids=frozenset({9}), position=1), *DEFAULT_RULES)
    assert locks_out_admins(by_queue).queue_id == 9


def test_a_rule_is_checked_and_renumbered():
    assert clean(DEFAULT_RULES[0]) == {}
    wrong = Rule("hear", "maybe", roles=frozenset({"boss"}), directions=frozenset({"sideways"}), position=0)
    assert set(clean(wrong)) == {"action", "effect", "roles", "directions", "position"}
    assert [r.position for r in renumbered(list(reversed(DEFAULT_RULES[:3])))] == [10, 20, 30]
