"""A line: a trunk and the number dialled on it (DID), with its route, language and business hours.

Route kinds are codes (crm/labels.py words them): in business hours the normal CRM routing,
a queue, a user, an IVR menu (crm/ivr/) or voicemail; after hours a queue, a user, a menu,
voicemail, or the closed prompt and a hang-up. Voicemail needs no target: an unknown caller's
message goes to the default queue's members. A line may play a greeting (crm/greetings/) before its route in business
hours, and let known clients skip its menu straight to their manager.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.greetings.prompts import BUILTIN_PROMPTS, Prompt
from crm.i18n import LANGUAGES
from crm.i18n import gettext as _
from crm.lines.schedule import Holiday, Interval, Schedule
from crm.routing.decide import ManagerRef, QueueRef

ROUTE_KINDS = ("crm", "queue", "user", "ivr", "voicemail")
AFTER_HOURS_KINDS = ("hangup", "queue", "user", "ivr", "voicemail")
NAME_MAX = 60
_TRUNK = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_DID = re.compile(r"^\+?[0-9]{1,20}$")


@dataclass(frozen=True)
class MenuRef:
    """An IVR menu as a route names it (the menu itself: crm/ivr/model.py Menu)."""

    id: int
    name: str


@dataclass(frozen=True)
class Route:
    """Where a line (or an IVR menu's key) sends a call: a kind, and its queue, user or menu
    (as the call path knows them)."""

    kind: str
    queue: QueueRef | None = None
    user: ManagerRef | None = None
    menu: MenuRef | None = None


@dataclass(frozen=True)
class Line:
    """A live line as the call path caches it (crm/routing/view.py)."""

    id: int
    name: str
    trunk: str
    did: str
    route: Route
    after_hours: Route = Route("hangup")
    language: str | None = None
    hours: Schedule | None = None  # None: no business hours, always open
    greeting: Prompt | None = None  # played before the route in business hours
    skip_menu_for_known: bool = False  # a known client skips the line's menu to its manager


def did_key(did: str) -> str:
    """A number as lines are matched by: +74957770000 and 74957770000 are one line."""
    return did.strip().lstrip("+")


def line_of(channel_name: str) -> str:
    """PJSIP/trunk-0000001a -> PJSIP/trunk: the endpoint the channel belongs to (calls.line);
    Local/103@phones-00000005;1 -> Local/103@phones."""
    technology_and_resource, sep, _suffix = channel_name.rpartition("-")
    return technology_and_resource if sep else channel_name


def trunk_of(channel_line: str) -> str:
    """"PJSIP/trunk" (calls.line, the channel's endpoint) -> "trunk", as a line names its trunk."""
    return channel_line.rpartition("/")[2]


@dataclass(frozen=True)
class LineInput:
    """What the admin's form says about a line, checked by cleaned() before it is saved."""

    name: str
    trunk: str
    did: str
    language: str | None = None
    route_kind: str = "crm"
    route_queue_id: int | None = None
    route_user_id: int | None = None
    route_menu_id: int | None = None
    hours_enabled: bool = False
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: tuple[Holiday, ...] = ()
    after_hours_kind: str = "hangup"
    after_hours_queue_id: int | None = None
    after_hours_user_id: int | None = None
    after_hours_menu_id: int | None = None
    greeting_id: int | None = None
    greeting_sound: str | None = None
    skip_menu_for_known: bool = False

    def cleaned(self) -> "LineInput":
        errors: dict[str, str] = {}
        name = self.name.strip()
        if not 0 < len(name) <= NAME_MAX:
            errors["name"] = _("a line's name is 1 to %(max)d characters") % {"max": NAME_MAX}
        trunk = self.trunk.strip().removeprefix("PJSIP/")
        if not _TRUNK.match(trunk):
            errors["trunk"] = _("a trunk is the name of a PJSIP endpoint: letters, digits, '.', '-' and '_'")
        did = re.sub(r"[\s()-]", "", self.did)
        if not _DID.match(did):
            errors["did"] = _("a number is digits, with an optional + in front (up to 20 digits)")
        if self.language is not None and self.language not in LANGUAGES:
            errors["language"] = _("is not a language of this CRM")
        _check_route(errors, "route", self.route_kind, self.route_queue_id, self.route_user_id, ROUTE_KINDS,
                     self.route_menu_id)
        _check_route(errors, "after_hours", self.after_hours_kind, self.after_hours_queue_id,
                     self.after_hours_user_id, AFTER_HOURS_KINDS, self.after_hours_menu_id)
        if self.greeting_id is not None and self.greeting_sound is not None:
            errors["greeting"] = _("choose one greeting")
        elif self.greeting_sound is not None and self.greeting_sound not in BUILTIN_PROMPTS:
            errors["greeting"] = _("is not a built-in prompt")
        if errors:
            raise ValidationError(errors)
        return LineInput(
            name=name, trunk=trunk, did=did, language=self.language, route_kind=self.route_kind,
            route_queue_id=self.route_queue_id if self.route_kind == "queue" else None,
            route_user_id=self.route_user_id if self.route_kind == "user" else None,
            route_menu_id=self.route_menu_id if self.route_kind == "ivr" else None,
            hours_enabled=self.hours_enabled, weekly=self.weekly, holidays=self.holidays,
            after_hours_kind=self.after_hours_kind,
            after_hours_queue_id=self.after_hours_queue_id if self.after_hours_kind == "queue" else None,
            after_hours_user_id=self.after_hours_user_id if self.after_hours_kind == "user" else None,
            after_hours_menu_id=self.after_hours_menu_id if self.after_hours_kind == "ivr" else None,
            greeting_id=self.greeting_id, greeting_sound=self.greeting_sound,
            skip_menu_for_known=self.skip_menu_for_known)


def _check_route(errors: dict[str, str], prefix: str, kind: str, queue_id: int | None, user_id: int | None,
                 kinds: tuple[str, ...], menu_id: int | None = None) -> None:
    if kind not in kinds:
        errors[f"{prefix}_kind"] = _("is not a route a line can take")
    elif kind == "queue" and queue_id is None:
        errors[f"{prefix}_queue_id"] = _("choose the queue")
    elif kind == "user" and user_id is None:
        errors[f"{prefix}_user_id"] = _("choose the user")
    elif kind == "ivr" and menu_id is None:
        errors[f"{prefix}_menu_id"] = _("choose the menu")
