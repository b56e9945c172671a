"""The walk through an IVR menu (crm/ivr/walk.py) and a menu's checks (crm/ivr/model.py): pure, no I/O."""

from __future__ import annotations

import pytest

from crm import i18n
from crm.calls import route
from crm.calls.route import Outcome, route_text
from crm.errors import ValidationError
from crm.greetings.prompts import Prompt, parse_choice
from crm.ivr.model import Menu, MenuInput, RouteChoice, loop_through, parse_route
from crm.ivr.walk import MAX_MENUS, NO_KEY, Ask, Go, MenuStep, Walk, walk
from crm.lines.decide import manager_chain, route_plan
from crm.lines.model import MenuRef, Route
from crm.routing.decide import CallerFacts, ManagerRef, QueueRef, RoutingPolicy

SUPPORT = QueueRef(7, "Support")
DEFAULT = QueueRef(1, "Default")
PETROV = ManagerRef(3, "Pavel Petrov", "103", True)
SALES_REF = MenuRef(20, "Sales")
SALES = Menu(20, "Sales", Prompt(sound="hello"), {"1": Route("user", user=PETROV)}, replays=0, timeout=Route("hangup"))
MAIN = Menu(10, "Main", Prompt(sound="basic-pbx-ivr-main"),
            {"2": Route("queue", queue=SUPPORT), "9": Route("ivr", menu=SALES_REF), "0": Route("hangup")},
            timeout_seconds=4, replays=2, timeout=Route("crm"))
MENUS = {10: MAIN, 20: SALES}
POLICY = RoutingPolicy(default_queue=DEFAULT, manager_ring_seconds=15)


def steps(*pairs) -> tuple[MenuStep, ...]:
    return tuple(MenuStep(menu, Outcome(code, params)) for menu, code, params in pairs)


def test_before_any_key_the_menu_plays():
    assert walk(MENUS, MAIN, []) == Walk((), Ask(MAIN))


def test_a_key_of_the_menu_leaves_by_its_route():
    w = walk(MENUS, MAIN, ["2"])
    assert w.next == Go(Route("queue", queue=SUPPORT), MAIN)
    assert w.steps == steps(("Main", "menu_pressed", {"digit": "2"}))


def test_no_key_takes_the_timeout_route_at_once():
    w = walk(MENUS, MAIN, [NO_KEY])
    assert w.next == Go(Route("crm"), MAIN)
    assert w.steps == steps(("Main", "menu_no_digit", {"seconds": 4}))


def test_a_wrong_key_replays_the_menu_up_to_its_replays_then_takes_the_timeout_route():
    assert walk(MENUS, MAIN, ["7"]).next == Ask(MAIN, invalid=True)
    assert walk(MENUS, MAIN, ["7", "8"]).next == Ask(MAIN, invalid=True)
    w = walk(MENUS, MAIN, ["7", "8", "#"])
    assert w.next == Go(Route("crm"), MAIN)
    assert [s.outcome for s in w.steps] == [Outcome("menu_invalid_digit", {"digit": d}) for d in "78#"]
    # A right key after a wrong one still counts.
    assert walk(MENUS, MAIN, ["7", "2"]).next == Go(Route("queue", queue=SUPPORT), MAIN)
    no_replays = Menu(11, "Strict", MAIN.prompt, MAIN.options, replays=0, timeout=Route("hangup"))
    assert walk(MENUS, no_replays, ["5"]).next == Go(Route("hangup"), no_replays)


def test_a_submenu_plays_next_with_its_own_keys_and_count_of_wrong_keys():
    assert walk(MENUS, MAIN, ["9"]).next == Ask(SALES)
    assert walk(MENUS, MAIN, ["7", "7", "9", "2"]).next == Go(Route("hangup"), SALES), "Sales has no 2, no replays"
    w = walk(MENUS, MAIN, ["9", "1"])
    assert w.next == Go(Route("user", user=PETROV), SALES)
    assert w.steps == steps(("Main", "menu_pressed", {"digit": "9"}), ("Sales", "menu_pressed", {"digit": "1"}))


def test_a_submenu_that_is_gone_leaves_by_its_route_for_the_call_path_to_send_to_the_default_queue():
    w = walk({10: MAIN}, MAIN, ["9"])
    assert w.next == Go(Route("ivr", menu=SALES_REF), MAIN)
    plan = route_plan(w.next.route, POLICY, {1: "Default", 7: "Support"}, {10: MAIN}, by="menu Main",
                      step=lambda o: route.step("menu", "menu", o, name="Main"))
    assert [t.queue for t in plan.chain] == [DEFAULT]
    assert route_text(plan.steps) == "menu Main: routes to menu Sales, which is deleted: the default queue takes the call"


def test_keys_after_the_walk_left_the_menus_change_nothing():
    assert walk(MENUS, MAIN, ["2", "9", "1"]) == walk(MENUS, MAIN, ["2"])


def test_a_loop_that_slipped_past_the_checks_ends_in_the_default_queue_saying_why():
    looped = Menu(30, "Loop", MAIN.prompt, {"1": Route("ivr", menu=MenuRef(30, "Loop"))})
    w = walk({30: looped}, looped, ["1"] * (MAX_MENUS + 5))
    assert w.next == Go(Route("default"), looped)
    plan = route_plan(w.next.route, POLICY, {1: "Default"}, {30: looped}, by="menu Loop", step=lambda o: {})
    assert [t.queue for t in plan.chain] == [DEFAULT] and plan.menu is None
    assert route_text([route.step("menu", "menu", w.steps[-1].outcome, name="Loop")]) == (
        f"menu Loop: went round {MAX_MENUS} menus: the default queue takes the call")
    assert w.steps[-1] == MenuStep("Loop", Outcome("menu_loop", {"times": MAX_MENUS}))
    assert len(w.steps) == MAX_MENUS + 1


def test_route_plans_of_a_menus_routes():
    live = {1: "Default", 7: "Support"}

    def plan(r):
        return route_plan(r, POLICY, live, MENUS, by="menu Main", step=lambda o: route.step("menu", "menu", o, name="Main"))

    assert [(t.kind, t.name) for t in plan(Route("queue", queue=SUPPORT)).chain] == [("queue", "Support"),
                                                                                    ("queue", "Default")]
    assert [(t.kind, t.ring_seconds) for t in plan(Route("user", user=PETROV)).chain] == [("user", 15), ("queue", None)]
    assert plan(Route("crm")).chain is None and plan(Route("hangup")).hang_up
    assert plan(Route("ivr", menu=SALES_REF)).menu == SALES
    gone = plan(Route("queue", queue=QueueRef(8, "Promo")))
    assert route_text(gone.steps) == "menu Main: routes to queue Promo, which is deleted: the default queue takes the call"


def test_a_known_client_with_a_manager_who_can_take_calls_skips_to_the_manager():
    ivanova = ManagerRef(2, "Irina Ivanova", "102", True)
    chain = manager_chain(CallerFacts(5, "Sokolov Ivan", manager=ivanova), POLICY)
    assert [(t.kind, t.name, t.ring_seconds) for t in chain] == [("manager", "Irina Ivanova", 15),
                                                                 ("queue", "Default", None)]
    # A client with its own queue still goes to its manager: the menu's skip is about the manager.
    assert manager_chain(CallerFacts(5, "Sokolov Ivan", manager=ivanova, own_queue=SUPPORT), POLICY)[0].kind == "manager"
    assert manager_chain(None, POLICY) is None
    assert manager_chain(CallerFacts(5, "Sokolov Ivan"), POLICY) is None
    assert manager_chain(CallerFacts(5, "Sokolov Ivan", manager=ManagerRef(2, "I", "102", False)), POLICY) is None
    assert manager_chain(CallerFacts(5, "Sokolov Ivan", manager=ManagerRef(2, "I", None, True)), POLICY) is None


def test_menu_steps_read_in_russian():
    walked = walk(MENUS, MAIN, ["7", "9", NO_KEY]).steps
    steps_ = [route.step("menu", "menu", s.outcome, name=s.menu) for s in walked]
    assert route_text(steps_) == "menu Main: invalid digit 7 → menu Main: pressed 9 → menu Sales: no digit in 5 s"
    with i18n.using("ru"):
        text = route_text(steps_)
    assert "digit" not in text and "menu" not in text and text.startswith("меню Main: "), text


# ---- a menu as the admin's form says it ----

def test_loops_are_found_through_keys_and_timeouts():
    assert loop_through(1, {1: {2}, 2: {3}, 3: {1}}) == [1, 2, 3, 1]
    assert loop_through(1, {1: {1}}) == [1, 1]
    assert loop_through(1, {1: {2, 3}, 2: {3}, 3: set()}) is None
    assert loop_through(1, {1: {2}, 2: {3}, 3: {2}}) is None, "a loop not through this menu was refused before"


def test_routes_and_prompts_as_a_form_writes_them():
    assert parse_route("queue:5") == RouteChoice("queue", 5) and parse_route("ivr:12").text == "ivr:12"
    assert parse_route("crm") == RouteChoice("crm") and parse_route("hangup").text == "hangup"
    assert parse_route("voicemail") == RouteChoice("voicemail")  # issue 15's voicemail, no target
    assert [parse_route(t) for t in ("queue:", "queue:x", "crm:1", "voicemail:2", "user:1e3")] == [None] * 5
    assert parse_choice("greeting:3").greeting_id == 3 and parse_choice("sound:hello").sound == "hello"
    assert parse_choice("").empty and parse_choice("sound:../../etc/passwd") is None
    assert Prompt(greeting_id=3, name="Welcome", file="greeting-ab").media("/var/lib/asterisk/sounds/pbxcrm/") == \
        "sound:/var/lib/asterisk/sounds/pbxcrm/greeting-ab"
    assert Prompt(sound="hello").media("/x") == "sound:hello"


def test_a_menus_fields_are_checked_every_problem_at_once():
    menu = MenuInput(name="  Main   menu ", prompt="sound:hello", timeout_seconds=5, replays=2,
                     timeout_route="queue:4", keys={"2": "queue:7", "#": "hangup", "5": ""}).cleaned()
    assert (menu.name, menu.prompt.sound, menu.timeout.text) == ("Main menu", "hello", "queue:4")
    assert list(menu.options) == ["2", "#"] and menu.submenus() == set()
    with pytest.raises(ValidationError) as e:
        MenuInput(name="", prompt="sound:nope", timeout_seconds=0, replays=9, timeout_route="x",
                  keys={"2": "queue:", "A": "crm"}).cleaned()
    assert set(e.value.errors) == {"name", "prompt", "timeout_seconds", "replays", "timeout_route", "key_2", "keys"}
    with pytest.raises(ValidationError) as e:
        MenuInput(name="Main", prompt="sound:hello", keys={}).cleaned()
    assert e.value.errors == {"keys": "give at least one key a route"}
    assert MenuInput(name="M", prompt="greeting:1", timeout_route="ivr:3", keys={"*": "ivr:4"}).cleaned().submenus() \
        == {3, 4}
