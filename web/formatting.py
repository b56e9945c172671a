"""How pages write times, dates, numbers and durations: Babel's, in the reader's locale.

Times are shown in the reader's zone (their own, else the call centre's: web/locale.py),
in their language's short form and labelled with the zone's abbreviation:
"06.01.2026, 00:30 MSK" in Russian, "1/6/2026, 12:30 AM MSK" in English. Dates alone are
that zone's date, unlabelled. Durations read m:ss, or h:mm:ss from an hour on, in every
language. The JSON API is not formatted here: it sends ISO 8601 with the offset.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from babel import numbers as babel_numbers

from crm import formatting as texts
from crm import i18n
from crm.defaults import DEFAULT_TIMEZONE

DEFAULT_ZONE = DEFAULT_TIMEZONE


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def in_zone(value: dt.datetime, zone: str) -> dt.datetime:
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


def _language(language: str | None) -> str:
    return i18n.choose(language or i18n.current())


def local_time(value, zone: str = DEFAULT_ZONE, seconds: bool = False, language: str | None = None) -> str:
    """A moment as the reader's clock shows it, labelled: "06.01.2026, 00:30 MSK"."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        return str(value)
    local = in_zone(value, zone)
    return f"{texts.day_and_time(local, local, _language(language), seconds)} {zone_label(local)}"


def local_clock(value, zone: str = DEFAULT_ZONE, language: str | None = None,
                now: dt.datetime | None = None) -> str:
    """A moment of today as a clock on the wall shows it, labelled: "14:30 MSK"; another day's with its
    date, as local_time ("since 14:30" on a wallboard: today is what is meant)."""
    if not isinstance(value, dt.datetime):
        return local_time(value, zone, language=language)
    local = in_zone(value, zone)
    if local.date() != in_zone(now or dt.datetime.now(dt.timezone.utc), zone).date():
        return local_time(value, zone, language=language)
    return f"{texts.time_of_day(local, _language(language))} {zone_label(local)}"


def local_date(value, zone: str = DEFAULT_ZONE, time_of_day: dt.time | None = None,
               language: str | None = None, centre_zone: str | None = None) -> str:
    """The reader's date of a moment, or a date as it is: "06.01.2026" (ru), "1/6/2026" (en).

    With a time of day (a deadline, kept on the call centre's clock, `centre_zone`) it is that
    moment on the reader's clock, labelled: 15:00 MSK reads "22:00 UTC+10" in Vladivostok.
    """
    if value is None or value == "":
        return ""
    lang = _language(language)
    if isinstance(value, dt.datetime):
        return texts.day(in_zone(value, zone), lang)
    if not isinstance(value, dt.date):
        return str(value)
    if isinstance(time_of_day, dt.time):
        moment = dt.datetime.combine(value, time_of_day.replace(tzinfo=None), tzinfo=_zone(centre_zone or zone))
        local = moment.astimezone(_zone(zone))
        return f"{texts.day_and_time(local, local, lang)} {zone_label(local)}"
    return texts.day(value, lang)


def number(value, language: str | None = None, digits: int | None = None) -> str:
    """12345.6 -> "12 345,6" (ru), "12,345.6" (en); digits fixes the decimals."""
    if value is None or value == "":
        return ""
    locale = i18n.locale_of(_language(language))
    if digits is not None:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return babel_numbers.format_decimal(value, format=pattern, locale=locale)
    return babel_numbers.format_decimal(value, locale=locale)


def percent(value, language: str | None = None) -> str:
    """0.873 -> "87 %" (ru), "87%" (en)."""
    if value is None or value == "":
        return ""
    return babel_numbers.format_percent(value, locale=i18n.locale_of(_language(language)))


def duration(seconds) -> str:
    """154.0 -> "2:34"; 3725 -> "1:02:05"; None -> ""."""
    if seconds is None or seconds == "":
        return ""
    total = int(round(float(seconds)))
    sign, total = ("-", -total) if total < 0 else ("", total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"
