"""The routing decision, without I/O."""

import pytest

from crm.routing.decide import CallerFacts, ManagerRef, QueueRef, RoutingPolicy, Target, decide, resumed_chain

DEFAULT = QueueRef(1, "Default")
SALES = QueueRef(2, "Sales")
PURCHASING = QueueRef(3, "Purchasing")
POLICY = RoutingPolicy(default_queue=DEFAULT, manager_ring_seconds=20)
IVANOVA = ManagerRef(10, "Ivanova", "102", True)


def kinds(chain):
    return [(t.kind, t.manager.extension if t.manager else t.queue.name) for t in chain]


def test_unknown_caller_goes_to_the_default_queue():
    chain = decide(None, POLICY)
    assert kinds(chain) == [("queue", "Default")]
    assert chain[0].reason == "unknown caller"


def test_known_client_rings_its_manager_then_falls_back_to_the_default_queue():
    chain = decide(CallerFacts(5, "Petrov Ivan", manager=IVANOVA), POLICY)
    assert kinds(chain) == [("manager", "102"), ("queue", "Default")]
    assert chain[0].ring_seconds == 20
    assert chain[0].reason == "responsible manager of Petrov Ivan"


def test_a_client_queue_replaces_the_manager_and_the_chain_still_ends_in_the_default_queue():
    chain = decide(CallerFacts(5, "Supplier", manager=IVANOVA, own_queue=PURCHASING), POLICY)
    assert kinds(chain) == [("queue", "Purchasing"), ("queue", "Default")]


def test_precedence_client_over_company_over_tag():
    facts = CallerFacts(5, "X", manager=IVANOVA, company_queue=("Vostok", SALES), tag_queue=("Supplier", PURCHASING))
    assert kinds(decide(facts, POLICY))[0] == ("queue", "Sales")
    assert decide(facts, POLICY)[0].reason == "Vostok routes its clients to queue Sales"
    facts = CallerFacts(5, "X", manager=IVANOVA, tag_queue=("Supplier", PURCHASING))
    assert decide(facts, POLICY)[0].reason == "tag Supplier routes to queue Purchasing"


def test_a_blocked_manager_or_one_without_extension_is_skipped_with_the_reason():
    blocked = ManagerRef(11, "Sidorova", "104", False)
    chain = decide(CallerFacts(5, "X", manager=blocked), POLICY)
    assert kinds(chain) == [("queue", "Default")]
    assert chain[0].reason == "responsible manager Sidorova is blocked or deleted"
    chain = decide(CallerFacts(5, "X", manager=ManagerRef(12, "Orlov", None, True)), POLICY)
    assert chain[0].reason == "responsible manager Orlov has no extension"
    chain = decide(CallerFacts(5, "X"), POLICY)
    assert chain[0].reason == "X has no responsible manager"


def test_the_default_queue_named_by_a_client_is_not_repeated():
    assert kinds(decide(CallerFacts(5, "X", own_queue=DEFAULT), POLICY)) == [("queue", "Default")]


def test_when_the_crm_cannot_answer_the_reason_says_so():
    chain = decide(None, POLICY, unknown_reason="CRM lookup took longer than 300 ms")
    assert chain[0].reason == "CRM lookup took longer than 300 ms"


def test_every_chain_ends_in_a_queue():
    for facts in [None, CallerFacts(1, "a"), CallerFacts(1, "a", manager=IVANOVA),
                  CallerFacts(1, "a", own_queue=SALES), CallerFacts(1, "a", tag_queue=("t", SALES))]:
        assert decide(facts, POLICY)[-1].kind == "queue"


# ---- a call taken up again after a restart (issue 16) ----

MANAGER_FIRST = decide(CallerFacts(5, "Petrov Ivan", manager=IVANOVA), POLICY)  # 20 s, then the queue


@pytest.mark.parametrize("waited, expected", [
    (0.3, [("manager", "102", 20), ("queue", "Default", None)]),  # just in: nothing spent
    (8.2, [("manager", "102", 12), ("queue", "Default", None)]),  # the rest of its 20 s
    (17.0, [("manager", "102", 5), ("queue", "Default", None)]),  # never a ring too short to answer
    (20.0, [("queue", "Default", None)]),  # its time spent: straight to the queue
    (95.0, [("queue", "Default", None)]),
])
def test_a_resumed_call_rings_the_manager_only_for_what_is_left_of_the_ring_time(waited, expected):
    chain = resumed_chain(MANAGER_FIRST, waited)
    assert [(*k, t.ring_seconds) for k, t in zip(kinds(chain), chain)] == expected


def test_a_resumed_call_counts_its_wait_across_several_phones_and_keeps_the_queues_whole():
    user = Target("user", "line Promo routes to Ivanova", manager=IVANOVA, ring_seconds=10)
    chain = [user, *MANAGER_FIRST]  # 10 s + 20 s of phones, then the queue
    assert [t.ring_seconds for t in resumed_chain(chain, 14)] == [16, None]
    assert kinds(resumed_chain(chain, 31)) == [("queue", "Default")]
    sales_first = decide(CallerFacts(5, "Supplier", own_queue=SALES), POLICY)
    assert resumed_chain(sales_first, 300) == sales_first
