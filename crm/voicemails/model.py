"""Voicemail decisions, pure: what a queue's caller is offered, which message is kept, who may play it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from crm.calls.route import Outcome
from crm.calls.rules import DEFAULT_RULES, Rule
from crm.recordings.policy import can_listen

# A message shorter than this is none: the caller hung up or pressed # at once.
MIN_SECONDS = 1.0
# The longest message Asterisk records; '#' or hanging up ends it sooner.
MAX_SECONDS = 120


def offers_callback(offer: str) -> bool:
    """A queue's offer (crm/queues/model.py OFFERS) includes "press 1 to be called back"."""
    return offer in ("callback", "both")


def offers_voicemail(offer: str) -> bool:
    return offer in ("voicemail", "both")


def verdict(seconds: float, peak: int) -> Outcome:
    """What came of a recorded message: kept (voicemail_left), or none (too short, silent).
    `peak`: the loudest sample's magnitude; 0 is digital silence (no audio reached Asterisk)."""
    if seconds < MIN_SECONDS:
        return Outcome("voicemail_too_short", {"seconds": round(seconds, 1)})
    if peak == 0:
        return Outcome("voicemail_silent")
    return Outcome("voicemail_left", {"seconds": round(seconds)})


def can_play(user: Mapping, voicemail: Mapping, listeners: Collection[int],
             rules: Iterable[Rule] = DEFAULT_RULES) -> bool:
    """Whoever may listen to the call's recordings by the admin's call rules (crm/recordings/policy.py;
    `voicemail` carries the call's facts, crm/calls/facts_sql.RULE_FACTS), and the voicemail's
    `listeners`: the people of its callback task, and for an unknown caller the members of the
    queue whose task it is (crm/voicemails/queries.py LISTENERS) - the message is theirs to answer."""
    return can_listen(user, voicemail, rules) or user["id"] in listeners
