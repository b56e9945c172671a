"""Which calls are recorded (H7) and who may listen to them (G2): pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crm.roles import MANAGER, sees_everything

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


def can_listen(user: Mapping, call: Mapping) -> bool:
    """Supervisors and admins hear everything; anyone the calls they took part in (answered, placed,
    or talked on after a transfer: leg_user_ids); a manager
    the calls of his clients - the call's owner_user_id, the responsible manager of the client
    the call was matched to when it happened. Moving the call to another client later does
    not give it to that client's manager."""
    if sees_everything(user):
        return True
    if call.get("operator_user_id") == user["id"] or call.get("caller_user_id") == user["id"]:
        return True
    if user["id"] in (call.get("leg_user_ids") or ()):  # transferred to, and talked on it
        return True
    return user["role"] == MANAGER and call.get("owner_user_id") == user["id"]
