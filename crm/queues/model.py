"""Queue settings, checked before they reach the database."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.i18n import _

STRATEGIES = ("ringall", "roundrobin")  # in words: crm/labels.py QUEUE_STRATEGY
# What a caller is offered when the queue's longest wait passes (issue 15): "press 1 to be called
# back", voicemail, or both. In words: crm/labels.py QUEUE_OFFER.
OFFERS = ("callback", "voicemail", "both")


@dataclass(frozen=True)
class QueueMember:
    user_id: int
    name: str
    extension: str


@dataclass(frozen=True)
class QueueSettings:
    id: int | None
    name: str
    strategy: str = "ringall"
    ring_seconds: int = 15
    max_wait_seconds: int = 120
    moh_class: str = "default"
    is_default: bool = False
    members: tuple[QueueMember, ...] = ()
    offer: str = "both"
    # After a call from this queue its agent is not rung for this long (issue 18, crm/agents/).
    wrapup_seconds: int = 0
    # The wallboard and the reports (issue 18): the service level's threshold, and the admin's
    # amber/red thresholds of the longest wait (seconds) and of today's service level (%).
    service_level_seconds: int = 20
    wait_amber_seconds: int = 30
    wait_red_seconds: int = 60
    level_amber_percent: int = 80
    level_red_percent: int = 60


# The thresholds' fields, as queues stores them (crm/migrations/0032_wallboard.sql).
THRESHOLDS = ("service_level_seconds", "wait_amber_seconds", "wait_red_seconds", "level_amber_percent",
              "level_red_percent")


@dataclass(frozen=True)
class QueueInput:
    name: str
    strategy: str = "ringall"
    ring_seconds: int = 15
    max_wait_seconds: int = 120
    moh_class: str = "default"
    member_ids: tuple[int, ...] = ()
    offer: str = "both"
    wrapup_seconds: int = 0
    service_level_seconds: int = 20
    wait_amber_seconds: int = 30
    wait_red_seconds: int = 60
    level_amber_percent: int = 80
    level_red_percent: int = 60

    def cleaned(self) -> "QueueInput":
        errors = {}
        name = self.name.strip()
        if not 0 < len(name) <= 60:
            errors["name"] = _("a queue name is 1 to 60 characters")
        if self.strategy not in STRATEGIES:
            errors["strategy"] = _("must be ring all or round robin")
        if not 2 <= self.ring_seconds <= 120:
            errors["ring_seconds"] = _("ring time is 2 to 120 seconds")
        if not 5 <= self.max_wait_seconds <= 3600:
            errors["max_wait_seconds"] = _("the longest wait is 5 to 3600 seconds")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", self.moh_class):
            errors["moh_class"] = _("a music class is letters, digits, - and _")
        if self.offer not in OFFERS:
            errors["offer"] = _("must be a callback, voicemail or both")
        if not 0 <= self.wrapup_seconds <= 3600:
            errors["wrapup_seconds"] = _("wrap-up is 0 to 3600 seconds")
        errors.update(threshold_errors(self.service_level_seconds, self.wait_amber_seconds, self.wait_red_seconds,
                                       self.level_amber_percent, self.level_red_percent))
        if errors:
            raise ValidationError(errors)
        return dataclasses.replace(self, name=name, member_ids=tuple(dict.fromkeys(self.member_ids)))


def threshold_errors(service_level: int, wait_amber: int, wait_red: int, level_amber: int,
                     level_red: int) -> dict[str, str]:
    """What is wrong with a queue's wallboard thresholds, by field (empty: nothing)."""
    errors = {}
    if not 1 <= service_level <= 3600:
        errors["service_level_seconds"] = _("the service level threshold is 1 to 3600 seconds")
    for field, value in (("wait_amber_seconds", wait_amber), ("wait_red_seconds", wait_red)):
        if not 1 <= value <= 86400:
            errors[field] = _("a wait threshold is 1 to 86400 seconds")
    if "wait_red_seconds" not in errors and "wait_amber_seconds" not in errors and wait_red < wait_amber:
        errors["wait_red_seconds"] = _("the red wait threshold is not below the amber one")
    for field, value in (("level_amber_percent", level_amber), ("level_red_percent", level_red)):
        if not 0 <= value <= 100:
            errors[field] = _("a service level threshold is 0 to 100 percent")
    if "level_red_percent" not in errors and "level_amber_percent" not in errors and level_red > level_amber:
        errors["level_red_percent"] = _("the red service level threshold is not above the amber one")
    return errors
