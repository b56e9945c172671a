"""An IVR menu: as the admin's form says it (MenuInput, checked by cleaned()), and as the call
path caches it (Menu). Pure: no I/O.

A route is written as one choice, "queue:<id>", "user:<id>", "ivr:<id>", "crm", "hangup" or
"voicemail", so each key is one select on the form. Kinds are codes (crm/labels.py words them);
a kind to come joins MENU_ROUTE_KINDS, parse_route and the table's CHECKs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crm.errors import ValidationError
from crm.greetings.prompts import Prompt, PromptChoice, parse_choice
from crm.i18n import gettext as _
from crm.lines.model import Route

MENU_ROUTE_KINDS = ("queue", "user", "ivr", "crm", "hangup", "voicemail")
# The kinds with no target: the CRM's routing, goodbye, voicemail (ari_app/inbound/offer.py).
_NO_TARGET = ("crm", "hangup", "voicemail")
# The keys of a phone's keypad, in its order; the form's field of a key is key_<name>.
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
KEY_NAMES = {"*": "star", "#": "hash"}
NAME_MAX = 60
TIMEOUT_SECONDS = (1, 60)
REPLAYS = (0, 5)


def key_field(key: str) -> str:
    return f"key_{KEY_NAMES.get(key, key)}"


@dataclass(frozen=True)
class Menu:
    """A live menu as the call path caches it (crm/routing/view.py)."""

    id: int
    name: str
    prompt: Prompt
    options: Mapping[str, Route] = field(default_factory=dict)  # key -> route
    timeout_seconds: int = 5
    replays: int = 2  # plays again after a wrong key this many times, then the timeout route
    timeout: Route = Route("crm")
    skip_known: bool = False  # a known client goes straight to the manager


@dataclass(frozen=True)
class RouteChoice:
    kind: str
    target_id: int | None = None  # the queue's, user's or menu's id

    @property
    def text(self) -> str:
        return self.kind if self.target_id is None else f"{self.kind}:{self.target_id}"


def parse_route(text: str) -> RouteChoice | None:
    """"queue:5" -> RouteChoice("queue", 5); "crm", "hangup", "voicemail" as they are; None when it
    is no route."""
    kind, _, value = text.strip().partition(":")
    if kind in _NO_TARGET and not value:
        return RouteChoice(kind)
    if kind in ("queue", "user", "ivr") and value.isdigit() and len(value) <= 18:
        return RouteChoice(kind, int(value))
    return None


@dataclass(frozen=True)
class CleanMenu:
    name: str
    prompt: PromptChoice
    timeout_seconds: int
    replays: int
    timeout: RouteChoice
    skip_known: bool
    options: Mapping[str, RouteChoice]

    def submenus(self) -> set[int]:
        """The menus this one leads to, by a key or when the caller presses nothing."""
        routes = [*self.options.values(), self.timeout]
        return {r.target_id for r in routes if r.kind == "ivr" and r.target_id is not None}


@dataclass(frozen=True)
class MenuInput:
    """What the admin's form says about a menu: keys maps a key to its route's text ("" none)."""

    name: str
    prompt: str
    timeout_seconds: int = 5
    replays: int = 2
    timeout_route: str = "crm"
    skip_known: bool = False
    keys: Mapping[str, str] = field(default_factory=dict)

    def cleaned(self) -> CleanMenu:
        errors: dict[str, str] = {}
        name = " ".join(self.name.split())
        if not 0 < len(name) <= NAME_MAX:
            errors["name"] = _("a menu's name is 1 to %(max)d characters") % {"max": NAME_MAX}
        prompt = parse_choice(self.prompt)
        if prompt is None or prompt.empty:
            errors["prompt"] = _("choose what the menu says: a greeting or a built-in prompt")
        low, high = TIMEOUT_SECONDS
        if not low <= self.timeout_seconds <= high:
            errors["timeout_seconds"] = _("the wait for a key is %(low)d to %(high)d seconds") % {
                "low": low, "high": high}
        low, high = REPLAYS
        if not low <= self.replays <= high:
            errors["replays"] = _("the menu plays again %(low)d to %(high)d times") % {"low": low, "high": high}
        timeout = parse_route(self.timeout_route)
        if timeout is None:
            errors["timeout_route"] = _("is not a route a menu can take")
        options: dict[str, RouteChoice] = {}
        for key, text in self.keys.items():
            if key not in KEYS:
                errors["keys"] = _("%(key)s is not a key of a phone") % {"key": key}
            elif text.strip():
                choice = parse_route(text)
                if choice is None:
                    errors[key_field(key)] = _("is not a route a menu can take")
                else:
                    options[key] = choice
        if not options and "keys" not in errors:
            errors["keys"] = _("give at least one key a route")
        if errors:
            raise ValidationError(errors)
        assert prompt is not None and timeout is not None
        return CleanMenu(name, prompt, self.timeout_seconds, self.replays, timeout, self.skip_known,
                         {key: options[key] for key in KEYS if key in options})


def loop_through(menu_id: int, edges: Mapping[int, Iterable[int]]) -> list[int] | None:
    """The menus from `menu_id` back to itself, when its keys or timeouts lead round (edges: a menu
    -> the menus it leads to); None when they do not. Every other menu was checked when it was
    saved, so only a loop through this one can be new."""
    parents: dict[int, int] = {}
    todo = [menu_id]
    while todo:
        current = todo.pop()
        for nxt in edges.get(current, ()):
            if nxt == menu_id:
                path = [current]
                while path[-1] != menu_id:
                    path.append(parents[path[-1]])
                return [menu_id, *reversed(path[:-1]), menu_id]
            if nxt not in parents:
                parents[nxt] = current
                todo.append(nxt)
    return None
