"""A line: a trunk and the number dialled on it (DID), with its route, language and business hours.

Route kinds are codes (crm/labels.py words them): in business hours the normal CRM routing,
a queue or a user; after hours a queue, a user, or the closed prompt and a hang-up. Kinds to
come (an IVR menu, voicemail, a callback offer) join these tuples with a target of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.i18n import LANGUAGES
from crm.i18n import gettext as _
from crm.lines.schedule import Holiday, Interval, Schedule
from crm.routing.decide import ManagerRef, QueueRef

ROUTE_KINDS = ("crm", "queue", "user")
AFTER_HOURS_KINDS = ("hangup", "queue", "user")
NAME_MAX = 60
_TRUNK = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_DID = re.compile(r"^\+?[0-9]{1,20}$")


@dataclass(frozen=True)
class Route:
    """Where a line sends a call: a kind, and its queue or user (as the call path knows them)."""

    kind: str
    queue: QueueRef | None = None
    user: ManagerRef | None = None


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


def did_key(did: str) -> str:
    """A number as lines are matched by: +74957770000 and 74957770000 are one line."""
    return did.strip().lstrip("+")


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
    hours_enabled: bool = False
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: tuple[Holiday, ...] = ()
    after_hours_kind: str = "hangup"
    after_hours_queue_id: int | None = None
    after_hours_user_id: int | None = None

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
        _check_route(errors, "route", self.route_kind, self.route_queue_id, self.route_user_id, ROUTE_KINDS)
        _check_route(errors, "after_hours", self.after_hours_kind, self.after_hours_queue_id,
                     self.after_hours_user_id, AFTER_HOURS_KINDS)
        if errors:
            raise ValidationError(errors)
        return LineInput(
            name=name, trunk=trunk, did=did, language=self.language, route_kind=self.route_kind,
            route_queue_id=self.route_queue_id if self.route_kind == "queue" else None,
            route_user_id=self.route_user_id if self.route_kind == "user" else None,
            hours_enabled=self.hours_enabled, weekly=self.weekly, holidays=self.holidays,
            after_hours_kind=self.after_hours_kind,
            after_hours_queue_id=self.after_hours_queue_id if self.after_hours_kind == "queue" else None,
            after_hours_user_id=self.after_hours_user_id if self.after_hours_kind == "user" else None)


def _check_route(errors: dict[str, str], prefix: str, kind: str, queue_id: int | None, user_id: int | None,
                 kinds: tuple[str, ...]) -> None:
    if kind not in kinds:
        errors[f"{prefix}_kind"] = _("is not a route a line can take")
    elif kind == "queue" and queue_id is None:
        errors[f"{prefix}_queue_id"] = _("choose the queue")
    elif kind == "user" and user_id is None:
        errors[f"{prefix}_user_id"] = _("choose the user")
