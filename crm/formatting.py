"""Dates and times in texts the CRM writes itself (e-mails, a callback task's remark), in the
language in force (crm/i18n.py), as pages write them (web/formatting.py, which crm may not import).

No zone conversion here: the values are already on the clock they are meant for
(a task's deadline is kept on the call centre's clock).
"""

from __future__ import annotations

import datetime as dt

from babel import dates as babel_dates

from crm import i18n


def day(value: dt.date, language: str | None = None) -> str:
    """"06.01.2026" (ru), "1/6/2026" (en): CLDR's "yMd", the locale's numeric date with the full
    year (its "short" format has a two-digit year in English)."""
    return babel_dates.format_skeleton("yMd", value, locale=i18n.locale_of(i18n.choose(language or i18n.current())))


def time_of_day(value: dt.time | dt.datetime, language: str | None = None, seconds: bool = False) -> str:
    """"14:30" (ru), "2:30 PM" (en); with seconds "14:30:05"."""
    locale = i18n.locale_of(i18n.choose(language or i18n.current()))
    return babel_dates.format_time(value, "medium" if seconds else "short", locale=locale)


def day_and_time(date: dt.date, time: dt.time | dt.datetime | None = None, language: str | None = None,
                 seconds: bool = False) -> str:
    """A date, with its time of day when there is one: "06.01.2026, 14:30" (ru), "1/6/2026, 2:30 PM" (en)."""
    lang = i18n.choose(language or i18n.current())
    if time is None:
        return day(date, lang)
    # The locale's own joining of the two ("{1}, {0}"), as Babel's format_datetime does.
    return i18n.locale_of(lang).datetime_formats["short"].format(time_of_day(time, lang, seconds), day(date, lang))
