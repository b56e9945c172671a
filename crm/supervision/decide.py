"""Who may join a call as its supervisor, and when: pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.i18n import N_
from crm.roles import sees_everything
from crm.supervision import MODES

# Why a supervisor cannot join the call now: (HTTP status, message). 403: not this user; 409: not this call now.
NOT_SUPERVISOR = (403, N_("only supervisors and admins may listen in on calls"))
RULES_FORBID = (403, N_("the call rules do not let you listen to this call"))
NO_EXTENSION = (409, N_("you have no extension: the PBX rings your phone to join the call; "
                        "ask an admin to give you one"))
ENDED = (409, N_("the call has ended: there is nothing to listen to"))
NO_OPERATOR = (409, N_("nobody has answered the call yet: listen in once an operator talks on it"))
OWN_CALL = (409, N_("you are talking on this call yourself"))
ALREADY = (409, N_("you are already on this call, or your phone is ringing for it"))
BAD_MODE = (422, N_("choose listen, whisper or barge"))


@dataclass(frozen=True)
class SupervisionFacts:
    """What decides whether a supervisor may join the call now (crm/supervision/queries.facts)."""

    answered: bool
    ended: bool
    # Who is talking on our side now (the call's open leg); None: nobody yet, or nobody any more.
    talking_user_id: int | None


def refusal(facts: SupervisionFacts, user: Mapping, mode: str, *, may_listen: bool) -> tuple[int, str] | None:
    """None when this user may join the call now in this mode; else why not. `may_listen`: the
    call rules' listen action for this user and call (crm/calls/rules.py)."""
    if not sees_everything(user):
        return NOT_SUPERVISOR
    if not may_listen:
        return RULES_FORBID
    if mode not in MODES:
        return BAD_MODE
    if not user.get("extension"):
        return NO_EXTENSION
    if facts.ended:
        return ENDED
    if not facts.answered or facts.talking_user_id is None:
        return NO_OPERATOR
    if facts.talking_user_id == user["id"]:
        return OWN_CALL
    return None
