"""The walk through a menu: from the keys a caller pressed so far, what happens next. Pure.

`walk(menus, start, presses)` replays the call from its first menu: each press is a key
("2") or NO_KEY (the menu's wait passed with nothing pressed). It answers the steps the
route records (one per press: "menu Main: pressed 2", "menu Main: no digit in 5 s",
"menu Main: invalid digit 7") and what comes next: Ask (play a menu and wait for a key;
after a wrong key the caller hears so first) or Go (leave the menus by this route).

A key the menu does not have plays the menu again, up to its `replays` times; the wrong key
after that, or a wait with nothing pressed, takes the menu's timeout route. A key or timeout
that leads to another menu enters it (if it is live; a deleted one is Go with its 'ivr'
route, which the call path sends to the default queue, saying why). Loops are refused when
a menu is saved; a walk through more than MAX_MENUS menus goes to the default queue anyway (Route 'default').
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crm.calls.route import Outcome
from crm.ivr.model import Menu
from crm.lines.model import Route

NO_KEY = None
MAX_MENUS = 20


@dataclass(frozen=True)
class MenuStep:
    """One step of the call's route: in this menu, this happened."""

    menu: str
    outcome: Outcome


@dataclass(frozen=True)
class Ask:
    """Play `menu` and wait for a key; `invalid`: the caller's last key was not one of its keys."""

    menu: Menu
    invalid: bool = False


@dataclass(frozen=True)
class Go:
    """Leave the menus by `route`, chosen in `menu`."""

    route: Route
    menu: Menu


@dataclass(frozen=True)
class Walk:
    steps: tuple[MenuStep, ...]
    next: Ask | Go


def walk(menus: Mapping[int, Menu], start: Menu, presses: Sequence[str | None]) -> Walk:
    """`menus`: the live menus by id; `start`: the menu the call entered first."""
    steps: list[MenuStep] = []
    menu, wrong, entered = start, 0, 1
    nxt: Ask | Go = Ask(menu)
    for press in presses:
        if isinstance(nxt, Go):
            break  # keys pressed after the walk left the menus change nothing
        if press is NO_KEY:
            steps.append(MenuStep(menu.name, Outcome("menu_no_digit", {"seconds": menu.timeout_seconds})))
            route = menu.timeout
        elif press in menu.options:
            steps.append(MenuStep(menu.name, Outcome("menu_pressed", {"digit": press})))
            route = menu.options[press]
        else:
            steps.append(MenuStep(menu.name, Outcome("menu_invalid_digit", {"digit": press})))
            wrong += 1
            if wrong <= menu.replays:
                nxt = Ask(menu, invalid=True)
                continue
            route = menu.timeout
        if route.kind != "ivr" or route.menu is None or route.menu.id not in menus:
            nxt = Go(route, menu)
            continue
        if entered >= MAX_MENUS:
            steps.append(MenuStep(menu.name, Outcome("menu_loop", {"times": MAX_MENUS})))
            nxt = Go(Route("default"), menu)
            continue
        menu, wrong, entered = menus[route.menu.id], 0, entered + 1
        nxt = Ask(menu)
    return Walk(tuple(steps), nxt)
