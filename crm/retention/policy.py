"""The retention settings and the decisions about them: pure functions.

Recordings and call rows each have a period in months (None: kept forever) and an action for what is older:
"delete", or "archive" (recordings: the files moved to the archive directory, keeping their day folders; call
rows: written to a gzip JSON-lines file per month there, then deleted). A recording cannot outlive its call
(recordings.call_id is NOT NULL), so call rows are kept at least as long as recordings.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from crm.errors import ValidationError
from crm.i18n import N_, _

ACTIONS = {"delete": N_("delete"), "archive": N_("archive")}
MAX_MONTHS = 1200

# What happens to the rows that refer to a call when the call goes (a table's foreign key to calls(id)):
#   delete  - deleted by the job with the call: a recording or voicemail is the call's own audio and its
#             call_id is NOT NULL; the files follow the recordings' action;
#   unlink  - call_id set to NULL: a task is someone's work and a campaign's attempt its statistics, and
#             both keep their meaning without the call;
#   cascade - ON DELETE CASCADE in the schema: the call's legs, transfer and supervision requests are
#             parts of the call itself (written to the call's archive line first when archiving).
DEPENDENTS: dict[str, str] = {
    "recordings": "delete", "voicemails": "delete",
    "tasks": "unlink", "dial_attempts": "unlink",
    "call_legs": "cascade", "transfer_requests": "cascade", "supervision_requests": "cascade",
}


@dataclass(frozen=True)
class RetentionPolicy:
    recordings_months: int | None = None
    recordings_action: str = "delete"
    calls_months: int | None = None
    calls_action: str = "delete"

    @property
    def active(self) -> bool:
        return self.recordings_months is not None or self.calls_months is not None

    def stored(self) -> dict[str, Any]:
        return asdict(self)


def from_stored(value: Mapping[str, Any] | None) -> RetentionPolicy:
    """The policy as kept in app_settings; anything unreadable there counts as "keep forever"."""
    if not value:
        return RetentionPolicy()

    def months(key: str) -> int | None:
        v = value.get(key)
        return v if isinstance(v, int) and 1 <= v <= MAX_MONTHS else None

    def action(key: str) -> str:
        return value[key] if value.get(key) in ACTIONS else "delete"

    return RetentionPolicy(months("recordings_months"), action("recordings_action"),
                           months("calls_months"), action("calls_action"))


def _months(raw: str | None, field: str, errors: dict[str, str]) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
        errors[field] = _("a whole number of months from 1 to %(max)d, or blank to keep forever") % {"max": MAX_MONTHS}
        return None
    return int(text)


def validated(recordings_months: str | None, recordings_action: str | None, calls_months: str | None,
              calls_action: str | None) -> RetentionPolicy:
    """The admin's form as a policy, or ValidationError naming each wrong field."""
    errors: dict[str, str] = {}
    rec = _months(recordings_months, "recordings_months", errors)
    calls = _months(calls_months, "calls_months", errors)
    for field, value in (("recordings_action", recordings_action), ("calls_action", calls_action)):
        if (value or "delete") not in ACTIONS:
            errors[field] = _("choose delete or archive")
    if not errors and calls is not None:
        if rec is None:
            errors["recordings_months"] = _("recordings cannot be kept longer than their calls: give them a "
                                            "period no longer than the calls' (%(n)d months)") % {"n": calls}
        elif calls < rec:
            errors["calls_months"] = _("call rows must be kept at least as long as recordings (%(n)d months)") % {
                "n": rec}
    if errors:
        raise ValidationError(errors)
    return RetentionPolicy(rec, recordings_action or "delete", calls, calls_action or "delete")


def months_before(now: dt.datetime, months: int) -> dt.datetime:
    """The same moment `months` calendar months earlier (the 31st becomes the month's last day)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def unhandled_references(references: Mapping[str, str]) -> list[str]:
    """The tables with a foreign key to calls(id) that the job does not know what to do with
    ({table: confdeltype}: 'c' cascade, 'n' set null, 'a'/'r' refuse): a new one must be decided on first,
    else deleting its calls would fail (or silently drop its rows)."""
    return sorted(t for t, kind in references.items() if t not in DEPENDENTS)


def last_run_summary(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The latest run's audit entry as {at, recordings, calls} for the settings page."""
    if row is None:
        return None
    changes = row["changes"]
    if isinstance(changes, str):
        import json

        changes = json.loads(changes)

    def new(key: str) -> int:
        value = changes.get(key)
        return (value[1] if isinstance(value, list) and len(value) == 2 else value) or 0

    return {"at": row["at"], "recordings": new("recordings"), "calls": new("calls")}
