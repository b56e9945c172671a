"""How pages write times and durations: one place, so it can become Babel's (issue 14) in one change.

Times are shown in the call centre's zone (Settings.timezone, PBXCRM_TIMEZONE),
labelled with the zone's abbreviation: "06.01.2026 00:30 MSK". Dates alone are
that zone's date, unlabelled. Durations read m:ss, or h:mm:ss from an hour on.
The JSON API is not formatted here: it sends ISO 8601 with the offset.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from crm.defaults import DEFAULT_TIMEZONE

DEFAULT_ZONE = DEFAULT_TIMEZONE
DATE = "%d.%m.%Y"
MINUTES = "%d.%m.%Y %H:%M"
SECONDS = "%d.%m.%Y %H:%M:%S"


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _in_zone(value: dt.datetime, zone: str) -> dt.datetime:
    # A timestamp without a zone is UTC: every timestamptz reaches Python as UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(_zone(zone))


def zone_label(local: dt.datetime) -> str:
    """The zone's abbreviation at that moment ("MSK"); "UTC+05" where the zone has only an offset."""
    abbreviation = local.strftime("%Z")
    return f"UTC{abbreviation}" if abbreviation[:1] in "+-" else abbreviation


def local_now(zone: str = DEFAULT_ZONE) -> dt.datetime:
    return dt.datetime.now(_zone(zone))


def local_time(value, zone: str = DEFAULT_ZONE, seconds: bool = False) -> str:
    """A moment as the call centre's clock shows it, labelled: "06.01.2026 00:30 MSK"."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        return str(value)
    local = _in_zone(value, zone)
    return f"{local.strftime(SECONDS if seconds else MINUTES)} {zone_label(local)}"


def local_date(value, zone: str = DEFAULT_ZONE, time_of_day: dt.time | None = None) -> str:
    """The call centre's date of a moment, or a date as it is: "06.01.2026".

    With a time of day (a deadline, kept on the call centre's clock) it is that time, labelled.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return _in_zone(value, zone).strftime(DATE)
    if not isinstance(value, dt.date):
        return str(value)
    if isinstance(time_of_day, dt.time):
        local = dt.datetime.combine(value, time_of_day.replace(tzinfo=None), tzinfo=_zone(zone))
        return f"{local.strftime(MINUTES)} {zone_label(local)}"
    return value.strftime(DATE)


def duration(seconds) -> str:
    """154.0 -> "2:34"; 3725 -> "1:02:05"; None -> ""."""
    if seconds is None or seconds == "":
        return ""
    total = int(round(float(seconds)))
    sign, total = ("-", -total) if total < 0 else ("", total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"
