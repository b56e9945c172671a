"""When a campaign may ring a number (issue 22): only inside its calling hours in the called person's
time zone. Pure: the dialer asks this for every number it is about to claim."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str, default: str) -> ZoneInfo:
    """The number's zone; the centre's when it names none or one Python does not know."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_opening(now: dt.datetime, tz_name: str, default_tz: str, window_from: int, window_to: int) -> dt.datetime:
    """`now` when the local hour is within [window_from, window_to), else when the window next opens
    (in UTC). `window_to` may be 24 (up to midnight)."""
    local = now.astimezone(zone(tz_name, default_tz))
    if window_from <= local.hour < window_to:
        return now
    day = local.date() if local.hour < window_from else local.date() + dt.timedelta(days=1)
    opens = dt.datetime.combine(day, dt.time(window_from), tzinfo=local.tzinfo)
    return opens.astimezone(dt.timezone.utc)


def inside(now: dt.datetime, tz_name: str, default_tz: str, window_from: int, window_to: int) -> bool:
    return next_opening(now, tz_name, default_tz, window_from, window_to) == now
