"""Pieces of SQL conditions the filtered lists share (the call log, the SMS list): a period of the call
centre's days, one of several whitelisted codes, a counterparty with a company's clients. `p` is the
list's parameter maker (a value in, its "$n" out); columns are the caller's, never user input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

Param = Callable[[object], str]


def period(p: Param, column: str, start: dt.date | None, end: dt.date | None, timezone: str) -> list[str]:
    """From the start of `start` to the end of `end` (both included) on the centre's clock."""
    conditions = []
    if start is not None:
        conditions.append(f"{column} >= ({p(start)}::date)::timestamp AT TIME ZONE {p(timezone)}")
    if end is not None:
        conditions.append(f"{column} < ({p(end)}::date + 1)::timestamp AT TIME ZONE {p(timezone)}")
    return conditions


def one_of(p: Param, column: str, values: Sequence[str], allowed: Collection[str]) -> list[str]:
    """The column is one of the values; unknown codes are no condition."""
    known = [v for v in values if v in allowed]
    return [f"{column} = ANY({p(known)}::text[])"] if known else []


def counterparty_or_members(p: Param, column: str, counterparty_id: int) -> str:
    """A client's rows; a company's and its clients', as on its card."""
    cp = p(counterparty_id)
    return (f"{column} = ANY(ARRAY(SELECT {cp}::bigint UNION ALL "
            f"SELECT m.client_id FROM company_members m WHERE m.company_id = {cp}))")
