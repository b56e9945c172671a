"""Which calls are recorded (H7) and who may listen to them (G2): pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crm.calls.rules import DEFAULT_RULES, LISTEN, Facts, Rule, decide

MODES = {
    "all": "record all calls",
    "all_but_internal": "record all but internal calls",
    "all_but_users": "record all but calls with the users chosen below",
    "none": "record nothing",
}


@dataclass(frozen=True)
class RecordingPolicy:
    mode: str = "all"
    excluded_user_ids: frozenset[int] = field(default_factory=frozenset)


def should_record(policy: RecordingPolicy, direction: str, participant_user_ids: Iterable[int | None]) -> bool:
    if policy.mode == "none":
        return False
    if policy.mode == "all_but_internal":
        return direction != "internal"
    if policy.mode == "all_but_users":
        return not any(uid in policy.excluded_user_ids for uid in participant_user_ids if uid is not None)
    return True


def can_listen(user: Mapping, call: Mapping, rules: Iterable[Rule] = DEFAULT_RULES) -> bool:
    """By the call rules (crm/calls/rules.py); the defaults: supervisors and admins hear everything;
    anyone the calls they took part in (answered, placed, or talked on after a transfer: leg_user_ids);
    a manager the calls of his clients - the call's owner_user_id, the responsible manager of the client
    the call was matched to when it happened. Moving the call to another client later does
    not give it to that client's manager. A call the user may not see he may not hear either."""
    return decide(rules, Facts.of_call(call), user, LISTEN)
