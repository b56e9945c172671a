"""Lists of people to contact, shared by SMS campaigns (issue 21) and dial campaigns (issue 22): the
Clients list's conditions (a tag filter or one of the user's saved filters) as SQL, and an Excel
sheet's phone and name columns found by their titles."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import asyncpg

from crm.counterparties.listing import ListQuery, _Where, build_where
from crm.errors import NotFound, ValidationError
from crm.i18n import gettext as _

PHONE_HEADERS = {"phone", "phone number", "number", "mobile", "телефон", "номер", "мобильный", "номер телефона"}
NAME_HEADERS = {"name", "full name", "client", "имя", "фио", "клиент"}
FIRST_NAME_HEADERS = {"first name", "first_name", "имя"}


@dataclass(frozen=True)
class TagFilter:
    """Clients with every tag of `with_ids` and none of `without_ids` (and the Clients list's other
    conditions when they come from a saved filter)."""
    with_ids: tuple[int, ...] = ()
    without_ids: tuple[int, ...] = ()
    q: str = ""
    status: str | None = None
    responsible_id: int | None = None


def filter_where(condition: TagFilter, region: str) -> _Where:
    """The WHERE of the clients (alias c) the Clients list would show with these conditions."""
    return build_where(ListQuery(kind="client", q=condition.q, status=condition.status,
                                 responsible_id=condition.responsible_id, tag_ids=condition.with_ids,
                                 without_tag_ids=condition.without_ids, default_region=region))


def _ids(values: list[str]) -> tuple[int, ...]:
    return tuple(int(v) for v in values if v.isdigit())


async def saved_filter(conn: asyncpg.Connection, user_id: int, filter_id: int) -> tuple[str, TagFilter]:
    """One of the user's saved Clients filters as conditions (its name for the campaign's source)."""
    row = await conn.fetchrow("SELECT name, query FROM saved_filters WHERE id = $1 AND user_id = $2 "
                              "AND section = 'clients'", filter_id, user_id)
    if row is None:
        raise NotFound(_("no such filter"))
    pairs = parse_qsl(row["query"])
    values = {k: [v for key, v in pairs if key == k] for k in ("tag", "notag", "q", "status", "responsible")}
    responsible = values["responsible"][:1]
    return row["name"], TagFilter(
        with_ids=_ids(values["tag"]), without_ids=_ids(values["notag"]), q=(values["q"] or [""])[0],
        status=(values["status"] or [None])[0] or None,
        responsible_id=int(responsible[0]) if responsible and responsible[0].isdigit() else None)


def column(header: list[str], names: set[str]) -> int | None:
    """The first column whose title is one of `names` (any case)."""
    for i, title in enumerate(header):
        if title.strip().casefold() in names:
            return i
    return None


def phone_column(header: list[str]) -> int:
    """The sheet's phone column, or the error that the file needs one."""
    at = column(header, PHONE_HEADERS)
    if at is None:
        raise ValidationError({"file": _("the first row needs a column called Phone (Телефон)")})
    return at


def cell(values: list, at: int | None) -> str:
    """A row's cell as text ('' when the column is absent or the cell empty)."""
    if at is None or at >= len(values) or values[at] is None:
        return ""
    return str(values[at]).strip()
