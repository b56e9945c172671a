"""What a scheduled call is and may become (pure).

At its time a 'remind' call becomes a browser notification and an e-mail to its user ('reminded', its
end); a 'dial' call becomes a click-to-call request ('dialing': the PBX rings the user, then the
number) and ends 'done' or 'failed' with the request. A pending call may be cancelled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from crm.i18n import N_, gettext, pgettext
from crm.roles import is_customer, sees_everything

REMIND, DIAL = "remind", "dial"
ACTIONS = (REMIND, DIAL)
ACTION_NAMES = {REMIND: N_("Remind me (browser and e-mail)"), DIAL: N_("The PBX dials (my phone first)")}

PENDING, REMINDED, DIALING, DONE, FAILED, CANCELLED = "pending", "reminded", "dialing", "done", "failed", "cancelled"
STATUSES = (PENDING, REMINDED, DIALING, DONE, FAILED, CANCELLED)
_MOVES = {PENDING: frozenset({REMINDED, DIALING, FAILED, CANCELLED}), DIALING: frozenset({DONE, FAILED})}

# A time this close behind "now" is taken as "now" (the form's minute, a slow submit).
GRACE = dt.timedelta(minutes=2)


def status_text(status: str) -> str:
    """The status in words (a scheduled call's own: "done" and "cancelled" agree with a call, not a task)."""
    return {PENDING: pgettext("scheduled call", "planned"), REMINDED: pgettext("scheduled call", "reminded"),
            DIALING: pgettext("scheduled call", "dialling"), DONE: pgettext("scheduled call", "done"),
            FAILED: pgettext("scheduled call", "failed"), CANCELLED: pgettext("scheduled call", "cancelled")}[status]


def may_move(old: str, new: str) -> bool:
    return new in _MOVES.get(old, frozenset())


def started(action: str) -> str:
    """The status a due call takes when it is run."""
    return REMINDED if action == REMIND else DIALING


def due_in_time(due_at: dt.datetime, now: dt.datetime) -> bool:
    """A new scheduled call's time must not have passed (it would run at once, as if late)."""
    return due_at >= now - GRACE


def sees(user: Mapping, row: Mapping) -> bool:
    """A user sees its own scheduled calls; supervisors and admins everyone's; customers none."""
    if is_customer(user):
        return False
    return sees_everything(user) or row["user_id"] == user["id"]


def may_cancel(user: Mapping, row: Mapping) -> bool:
    return sees(user, row) and may_move(row["status"], CANCELLED)


# Why a dialled call failed, stored in English (as crm/clicktocall's requests store theirs) and shown in the
# reader's language (reason_text).
NOT_TAKEN = N_("the PBX did not take the call request in time (was the Stasis app running?)")
NO_EXTENSION = N_("the user has no extension to ring")
CALL_FAILED = N_("the call failed")
CAMPAIGN_OVER = N_("its campaign no longer dials")
NEVER_ENDED = N_("the PBX never reported the end of the call (was the Stasis app stopped mid-call?)")
_KNOWN_REASONS = frozenset({NOT_TAKEN, NO_EXTENSION, CALL_FAILED, NEVER_ENDED, CAMPAIGN_OVER,
                            N_("the user did not answer")})


def reason_text(reason: str) -> str:
    """A stored reason in the reader's language when it is one of ours; any other as it was stored."""
    return gettext(reason) if reason in _KNOWN_REASONS else reason


def settled(request_status: str | None, request_error: str | None, expired: bool = False,
            stuck: bool = False) -> tuple[str, str] | None:
    """A dialled call's end, from its click-to-call request's: (status, reason), or None while it goes on.
    `expired`: the request is still pending but too old for the Stasis app to take (crm/request_rows.py).
    `stuck`: taken, then not heard of for hours (the Stasis process died mid-call): it will never end."""
    if request_status == "pending" and expired:
        return FAILED, NOT_TAKEN
    if request_status in ("ringing user", "dialing") and stuck:
        return FAILED, NEVER_ENDED
    if request_status == "done":
        return DONE, ""
    if request_status == "failed":
        return FAILED, request_error or CALL_FAILED
    return None
