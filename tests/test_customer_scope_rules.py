"""What a customer's user may do to a call (issue 22, G3), decided without I/O: its orders' calls only,
whatever the admin's call rules say; and the same answer as SQL (crm/calls/rules_sql.condition) and for
the SMS list (crm/sms/listing.visibility)."""

import pytest

from crm import customers_scope
from crm.calls.rules import ALLOW, DEFAULT_RULES, EDIT, LISTEN, SEE, Facts, Rule, decide
from crm.calls.rules_sql import condition
from crm.sms.listing import visibility

ALPHA, BETA = 7, 8
CUSTOMER = {"id": 50, "role": "customer", "customer_id": ALPHA}
# Rules an admin might write: every call for everyone, and everything for participants.
OPEN_RULES = (Rule(SEE, ALLOW, position=1), Rule(LISTEN, ALLOW, position=2), Rule(EDIT, ALLOW, position=3))


@pytest.mark.parametrize("rules", [DEFAULT_RULES, OPEN_RULES, ()])
def test_a_customer_sees_and_hears_its_orders_calls_only_whatever_the_rules(rules):
    own, other, none = Facts(order_customer_id=ALPHA), Facts(order_customer_id=BETA), Facts()
    for action in (SEE, LISTEN):
        assert decide(rules, own, CUSTOMER, action)
        assert not decide(rules, other, CUSTOMER, action)
        assert not decide(rules, none, CUSTOMER, action)
    # Taking part, being responsible or the owner gives a customer nothing.
    mine_otherwise = Facts(participant_ids=frozenset({50}), responsible_user_id=50, owner_user_id=50)
    assert not decide(rules, mine_otherwise, CUSTOMER, SEE)


def test_a_customer_never_edits_a_call_not_even_its_own():
    assert not decide(OPEN_RULES, Facts(order_customer_id=ALPHA), CUSTOMER, EDIT)


def test_a_customer_user_without_a_customer_sees_nothing():
    lost = {"id": 51, "role": "customer", "customer_id": None}
    assert not decide(OPEN_RULES, Facts(order_customer_id=ALPHA), lost, SEE)
    assert customers_scope.customer_of(lost) is None


def test_the_staff_are_untouched_by_orders():
    """An operator's answer is the rules', order or not."""
    operator = {"id": 3, "role": "operator", "customer_id": None}
    assert decide(DEFAULT_RULES, Facts(order_customer_id=BETA), operator, SEE)
    assert decide(DEFAULT_RULES, Facts(), operator, SEE)
    assert customers_scope.customer_of(operator) is None
    assert not customers_scope.decides(operator) and customers_scope.decides(CUSTOMER)


def test_the_facts_read_the_order_customer_of_a_call_row():
    assert Facts.of_call({"order_customer_id": ALPHA}).order_customer_id == ALPHA
    assert Facts.of_call({}).order_customer_id is None


@pytest.mark.parametrize("rules", [DEFAULT_RULES, OPEN_RULES])
def test_the_sql_condition_of_a_customer_is_its_orders_whatever_the_rules(rules):
    see, params = condition(rules, CUSTOMER, SEE, alias="cl", start=4)
    assert see == "coalesce(cl.order_id IN (SELECT so.id FROM orders so WHERE so.customer_id = $4::bigint), false)"
    assert params == [ALPHA]
    assert condition(rules, CUSTOMER, LISTEN) == (see.replace("cl.", "c.").replace("$4", "$1"), [ALPHA])
    assert condition(rules, CUSTOMER, EDIT) == ("false", [])
    assert condition(rules, {"id": 51, "role": "customer"}, SEE) == ("false", [])
    with pytest.raises(ValueError):
        condition(rules, CUSTOMER, SEE, alias="c; DROP")


def test_the_sms_list_of_a_customer_is_its_orders_messages():
    args: list = []

    def p(value):
        args.append(value)
        return f"${len(args)}"

    sql = visibility(CUSTOMER, p)
    assert sql == "coalesce(m.order_id IN (SELECT so.id FROM orders so WHERE so.customer_id = $1::bigint), false)"
    assert args == [ALPHA]
    assert visibility({"id": 51, "role": "customer"}, p) == "false"
