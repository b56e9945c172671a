"""What several imports share: a cell as a date and time, tags and users by name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import asyncpg

from crm import tags
from crm.errors import DomainError, ValidationError
from crm.i18n import _, ngettext
from crm.users import queries as users_q


def text(value) -> str:
    """A cell as text: blank for an empty cell."""
    return "" if value is None else str(value).strip()


def reason(error: DomainError) -> str:
    """A rejected row's reason: the messages alone (a form's field names mean nothing in a file)."""
    return "; ".join(error.errors.values()) if isinstance(error, ValidationError) else str(error)


def names(value) -> list[str]:
    """Several names in one cell, separated by commas, semicolons or line breaks."""
    return [p.strip() for p in text(value).replace(";", ",").replace("\n", ",").split(",") if p.strip()]


def date_and_time(value) -> tuple[dt.date, dt.time | None]:
    """An Excel date (with or without a time) or text YYYY-MM-DD / DD.MM.YYYY, optionally HH:MM."""
    if isinstance(value, dt.datetime):
        return value.date(), value.time().replace(microsecond=0) if value.time() != dt.time() else None
    if isinstance(value, dt.date):
        return value, None
    written = text(value)
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            parsed = dt.datetime.strptime(written, fmt)
            return parsed.date(), parsed.time() if "%H" in fmt else None
        except ValueError:
            continue
    raise DomainError(_("%(text)s is not a date (YYYY-MM-DD HH:MM or DD.MM.YYYY HH:MM)") % {"text": repr(written)})


def time_of(value) -> dt.time:
    """An Excel time or text HH:MM."""
    if isinstance(value, dt.datetime):
        return value.time().replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0)
    written = text(value)
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(written, fmt).time()
        except ValueError:
            continue
    raise DomainError(_("%(text)s is not a time (HH:MM)") % {"text": repr(written)})


async def usable_tags(conn: asyncpg.Connection, importer) -> dict[str, int]:
    """Lower-cased name -> id of every tag the importer's role may use."""
    return {t["name"].lower(): t["id"] for t in await tags.list_tags(conn) if tags.may_use(importer, t)}


def tag_ids(usable: Mapping[str, int], value) -> tuple[int, ...]:
    """The tags a cell names; one the importer may not use (or that does not exist) rejects the row."""
    found = []
    for name in names(value):
        tag = usable.get(name.lower())
        if tag is None:
            raise DomainError(_("no tag called %(name)s that you may use") % {"name": repr(name)})
        found.append(tag)
    return tuple(dict.fromkeys(found))


class People:
    """The active users, found by login or by full name (any case)."""

    def __init__(self, rows) -> None:
        self.by_login = {r["login"].lower(): r["id"] for r in rows}
        self.by_name: dict[str, list[int]] = {}
        for r in rows:
            self.by_name.setdefault(" ".join(r["full_name"].lower().split()), []).append(r["id"])

    @classmethod
    async def load(cls, conn: asyncpg.Connection) -> "People":
        return cls([r for r in await users_q.list_users(conn) if not r["is_blocked"]])

    def find(self, written: str) -> int:
        key = " ".join(written.lower().split())
        if key in self.by_login:
            return self.by_login[key]
        ids = self.by_name.get(key, [])
        if len(ids) > 1:
            raise DomainError(ngettext("%(num)d user is called %(name)s; write the login instead",
                                       "%(num)d users are called %(name)s; write the login instead", len(ids))
                              % {"num": len(ids), "name": repr(written)})
        if not ids:
            raise DomainError(_("no active user with login or name %(name)s") % {"name": repr(written)})
        return ids[0]
