"""Business hours of a line: is it open at a moment? Pure, so every rule is tested without I/O.

A week of opening intervals (several a day), and holidays: dates on which the week's
intervals do not apply - closed all day, or open in the holiday's own intervals. Times are
wall-clock times on the call centre's clock, so 09:00-18:00 is 09:00-18:00 on the day the
clocks change too. An interval whose closing time is not after its opening time runs past
midnight (22:00-02:00); 00:00-00:00 is the whole day. An interval belongs to the day it
opens on: Friday's 22:00-02:00 is open at 01:00 on Saturday even when Saturday is a holiday.

The admin's form writes a day's intervals as text, "09:00-13:00, 14:00-18:00", and a holiday
as a line, "2025-01-01 New Year" (closed) or "2025-12-31 10:00-15:00 New Year's Eve".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crm.i18n import gettext as _

WEEKDAYS = 7  # Monday is 0, as date.weekday() counts
MIDNIGHT = dt.time(0, 0)


@dataclass(frozen=True)
class Interval:
    opens: dt.time
    closes: dt.time  # not after `opens`: on the next day

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens

    def text(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class Holiday:
    day: dt.date
    name: str = ""
    intervals: tuple[Interval, ...] = ()  # none: closed all day


@dataclass(frozen=True)
class Schedule:
    # Seven tuples of intervals, Monday first.
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * WEEKDAYS
    holidays: Mapping[dt.date, Holiday] = field(default_factory=dict)

    def intervals_of(self, day: dt.date) -> tuple[Interval, ...]:
        """The intervals that open on this date: a holiday's own, else its weekday's."""
        holiday = self.holidays.get(day)
        return holiday.intervals if holiday is not None else self.weekly[day.weekday()]


@dataclass(frozen=True)
class OpenState:
    open: bool
    holiday: Holiday | None = None  # the holiday in force today, open or closed


def state_at(schedule: Schedule, now: dt.datetime) -> OpenState:
    """Open or closed at `now`, an aware datetime whose zone is the call centre's (its wall clock counts)."""
    if now.tzinfo is None:
        raise ValueError("now must carry the call centre's time zone")
    today, time_of_day = now.date(), now.time().replace(tzinfo=None)
    holiday = schedule.holidays.get(today)
    for interval in schedule.intervals_of(today):
        if interval.opens <= time_of_day and (interval.crosses_midnight or time_of_day < interval.closes):
            return OpenState(True, holiday)
    for interval in schedule.intervals_of(today - dt.timedelta(days=1)):
        if interval.crosses_midnight and time_of_day < interval.closes:
            return OpenState(True, holiday)
    return OpenState(False, holiday)


# ---- the admin's text ----

_TIME = r"(\d{1,2}):(\d{2})"
_RANGE = re.compile(rf"^{_TIME}\s*[-–—]\s*{_TIME}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ScheduleTextError(ValueError):
    """The text is not a schedule; the message, in the language in force, says where."""


def _time(hours: str, minutes: str, *, closing: bool) -> dt.time | None:
    h, m = int(hours), int(minutes)
    if closing and (h, m) == (24, 0):
        return MIDNIGHT  # 18:00-24:00 is 18:00 until midnight
    if h > 23 or m > 59:
        return None
    return dt.time(h, m)


def parse_interval(text: str) -> Interval:
    m = _RANGE.match(text.strip())
    opens = _time(m.group(1), m.group(2), closing=False) if m else None
    closes = _time(m.group(3), m.group(4), closing=True) if m else None
    if m is None or opens is None or closes is None:
        raise ScheduleTextError(_("%(text)s is not a time range such as 09:00-18:00") % {"text": repr(text.strip())})
    return Interval(opens, closes)


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """"09:00-13:00, 14:00-18:00" -> two intervals; blank -> none (closed that day)."""
    parts = [p for p in re.split(r"[,;]", text) if p.strip()]
    return tuple(sorted({parse_interval(p) for p in parts}, key=lambda i: (i.opens, i.closes)))


def intervals_text(intervals: Iterable[Interval]) -> str:
    return ", ".join(i.text() for i in intervals)


def parse_holidays(text: str) -> dict[dt.date, Holiday]:
    """One holiday a line: a date, its own intervals if it has any, then its name."""
    holidays: dict[dt.date, Holiday] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.replace(",", " , ").split()
        if not words:
            continue
        day = None
        if _DATE.match(words[0]):
            try:
                day = dt.date.fromisoformat(words[0])
            except ValueError:
                day = None
        if day is None:
            raise ScheduleTextError(_("line %(number)d: %(text)s is not a date such as 2025-01-01") % {
                "number": number, "text": repr(words[0])})
        if day in holidays:
            raise ScheduleTextError(_("line %(number)d: %(date)s is listed twice") % {
                "number": number, "date": words[0]})
        rest = words[1:]
        intervals: list[Interval] = []
        while rest and (rest[0] == "," or re.match(r"^\d{1,2}:\d{2}", rest[0])):
            word = rest.pop(0)
            if word == ",":
                continue
            if not _RANGE.match(word) and len(rest) >= 2 and rest[0] in "-–—":
                word = word + rest.pop(0) + rest.pop(0)  # "10:00 - 15:00"
            try:
                intervals.append(parse_interval(word))
            except ScheduleTextError as e:
                raise ScheduleTextError(_("line %(number)d: %(error)s") % {"number": number, "error": e}) from None
        name = " ".join(rest).replace(" , ", ", ").strip(" ,")
        if len(name) > 60:
            raise ScheduleTextError(_("line %(number)d: a holiday's name is at most 60 characters") % {
                "number": number})
        holidays[day] = Holiday(day, name, tuple(sorted(set(intervals), key=lambda i: (i.opens, i.closes))))
    return dict(sorted(holidays.items()))


def holidays_text(holidays: Iterable[Holiday]) -> str:
    lines = []
    for h in sorted(holidays, key=lambda h: h.day):
        lines.append(" ".join(part for part in (h.day.isoformat(), intervals_text(h.intervals), h.name) if part))
    return "\n".join(lines)
