"""What an SMS campaign is, without I/O (issue 21, I2): its statuses and who may move them, the sending
window in the recipient's time zone, and the text's placeholders.

    draft -> awaiting_approval -> approved (waits for its start) -> running <-> paused -> done
    any unfinished one -> cancelled; awaiting_approval -> draft (returned for changes)

The author submits; a supervisor or an admin approves, their own campaigns included (seed 002: "approved
by the author or a supervisor" — an author who is an operator or a manager cannot approve their own).
The runner starts an approved campaign at its time and finishes it when nothing is left to send.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as phone_zones

from crm.i18n import N_
from crm.i18n import gettext as _
from crm.roles import sees_everything

DRAFT, AWAITING, APPROVED, RUNNING = "draft", "awaiting_approval", "approved", "running"
PAUSED, DONE, CANCELLED = "paused", "done", "cancelled"
STATUSES = (DRAFT, AWAITING, APPROVED, RUNNING, PAUSED, DONE, CANCELLED)
FINISHED = frozenset({DONE, CANCELLED})
STATUS_NAMES = {DRAFT: N_("draft"), AWAITING: N_("awaiting approval"), APPROVED: N_("approved"),
                RUNNING: N_("sending"), PAUSED: N_("paused"), DONE: N_("done"), CANCELLED: N_("cancelled")}

# What a user does to a campaign: the status it leaves from, the one it goes to.
SUBMIT, APPROVE, RETURN, PAUSE, RESUME, CANCEL = "submit", "approve", "return", "pause", "resume", "cancel"
# The runner's own moves.
START, FINISH = "start", "finish"
_MOVES: dict[str, tuple[frozenset[str], str]] = {
    SUBMIT: (frozenset({DRAFT}), AWAITING),
    APPROVE: (frozenset({AWAITING}), APPROVED),
    RETURN: (frozenset({AWAITING}), DRAFT),
    PAUSE: (frozenset({RUNNING}), PAUSED),
    RESUME: (frozenset({PAUSED}), RUNNING),
    CANCEL: (frozenset({DRAFT, AWAITING, APPROVED, RUNNING, PAUSED}), CANCELLED),
    START: (frozenset({APPROVED}), RUNNING),
    FINISH: (frozenset({RUNNING}), DONE),
}
ACTIONS = (SUBMIT, APPROVE, RETURN, PAUSE, RESUME, CANCEL)

# Why a recipient gets no message.
OPTED_OUT, INVALID_NUMBER, TOO_LONG, DUPLICATE, SKIP_CANCELLED = (
    "opted_out", "invalid_number", "too_long", "duplicate", "cancelled")
SKIP_REASONS = {OPTED_OUT: N_("opted out of SMS"), INVALID_NUMBER: N_("invalid number"),
                TOO_LONG: N_("text too long"), DUPLICATE: N_("number listed twice"),
                SKIP_CANCELLED: N_("campaign cancelled")}


class CampaignError(ValueError):
    """A move or a text the rules refuse; the message is for the user."""


def next_status(action: str, status: str) -> str:
    """The status `action` leads to from `status`; CampaignError if it cannot happen now."""
    sources, target = _MOVES[action]
    if status not in sources:
        raise CampaignError(_("a campaign that is %(status)s cannot be %(action)s")
                            % {"status": _(STATUS_NAMES[status]), "action": _(_ACTION_DONE[action])})
    return target


_ACTION_DONE = {SUBMIT: N_("submitted"), APPROVE: N_("approved"), RETURN: N_("returned for changes"),
                PAUSE: N_("paused"), RESUME: N_("resumed"), CANCEL: N_("cancelled"), START: N_("started"),
                FINISH: N_("finished")}


def sees(user: Mapping, campaign: Mapping) -> bool:
    """Operators and managers see their own campaigns; supervisors and admins see all."""
    return sees_everything(user) or campaign["author_id"] == user["id"]


def may(user: Mapping, campaign: Mapping, action: str) -> bool:
    """Whether `user` may do `action` to `campaign` (its status aside: next_status says that)."""
    if action == APPROVE:
        return sees_everything(user)
    if action == RETURN:
        return sees(user, campaign)  # the approver sends it back, or the author takes it back to change
    return action in ACTIONS and sees(user, campaign)


def may_edit(user: Mapping, campaign: Mapping) -> bool:
    """Text, schedule and recipients change only in a draft (a change after approval needs a new one)."""
    return campaign["status"] == DRAFT and sees(user, campaign)


def available(user: Mapping, campaign: Mapping) -> list[str]:
    """The actions the campaign's page offers this user now."""
    return [a for a in ACTIONS if campaign["status"] in _MOVES[a][0] and may(user, campaign, a)]


# ---- the sending window ---------------------------------------------------------------------------

def check_window(start_hour: int, end_hour: int) -> None:
    if not (0 <= start_hour < end_hour <= 24):
        raise CampaignError(_("the sending window runs from an hour 0-23 to a later hour 1-24"))


def zone_of(phone: str, fallback: str) -> str:
    """The recipient's time zone: the number's, when its region has one zone (a Vladivostok landline);
    the centre's (`fallback`) when the number spans several (Russian mobiles span eleven)."""
    try:
        zones = phone_zones.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return fallback
    if len(zones) == 1 and zones[0] in zoneinfo.available_timezones():
        return zones[0]
    return fallback


def window_open(now: dt.datetime, zone: str, start_hour: int, end_hour: int) -> bool:
    """Whether it is between start_hour:00 and end_hour:00 in `zone` at the aware moment `now`."""
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    return start_hour <= local.hour < end_hour


def open_zones(now: dt.datetime, zones: list[str], start_hour: int, end_hour: int) -> list[str]:
    return [z for z in zones if window_open(now, z, start_hour, end_hour)]


# ---- the text -------------------------------------------------------------------------------------

PLACEHOLDERS = ("name", "first_name", "manager")
PLACEHOLDER_NAMES = {"name": N_("the client's name"), "first_name": N_("the client's first name"),
                     "manager": N_("the responsible manager's name")}


@dataclass(frozen=True)
class Values:
    name: str = ""
    first_name: str = ""
    manager: str = ""


def check_text(text: str) -> None:
    """A clear error for an empty text, a broken brace or a placeholder we do not know."""
    if not text.strip():
        raise CampaignError(_("the text is empty"))
    try:
        fields = [f for _lit, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError:
        raise CampaignError(_("a brace in the text is not closed; write a placeholder as {name}")) from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise CampaignError(_("unknown placeholder {%(field)s}; use %(known)s")
                                % {"field": field, "known": ", ".join("{%s}" % p for p in PLACEHOLDERS)})


_FIELD = re.compile(r"\{(\w+)\}")


def render(text: str, values: Values) -> str:
    """The text with its placeholders filled (check_text first); blanks collapse to one space."""
    filled = _FIELD.sub(lambda m: getattr(values, m.group(1), m.group(0)), text)
    return re.sub(r"[ \t]{2,}", " ", filled).strip()
