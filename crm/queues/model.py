"""Queue settings, checked before they reach the database."""

from __future__ import annotations

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
        if errors:
            raise ValidationError(errors)
        return QueueInput(name, self.strategy, self.ring_seconds, self.max_wait_seconds, self.moh_class,
                          tuple(dict.fromkeys(self.member_ids)), self.offer, self.wrapup_seconds)
