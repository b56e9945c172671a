"""The call log (H1, E3): filters, search, a capped count and paging on the server, and the same rows
for the Excel export.

Only whitelisted columns reach the SQL; every value is a $n parameter. The call rules' condition
(`visible`, crm/calls/rules_sql.condition) comes first with its parameters from $1; the filters'
parameters follow it, so the list, its count and its export keep only the calls the user may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from crm.counterparties.listing import escape_like
from crm.db import batches
from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.labels import CALL_DIRECTION, CALL_STATUS
from crm.list_conditions import counterparty_or_members, one_of, period
from crm.phones import caller_match_key
from crm.search import search_terms
from crm.tags import tag_conditions

DIRECTIONS = tuple(CALL_DIRECTION)
STATUSES = tuple(CALL_STATUS)
# Counting every call of a broad filter on a large base costs more than it tells (as the other lists).
COUNT_CAP = 10_000
# A search's count on 10,000,000 calls (issue 25): with the server's default 4 MB its bitmap goes lossy and every
# call on a lossy page has its text read again (0.8 s for a surname; 0.15 s with this).
SEARCH_WORK_MEM = "32MB"
MIN_QUERY = 2
Visible = tuple[str, list]


@dataclass(frozen=True)
class CallQuery:
    start: dt.date | None = None  # the call centre's days, both included
    end: dt.date | None = None
    directions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    # Who took or placed the call (the operator column: operator, else the user whose phone placed it).
    operator_ids: tuple[int, ...] = ()
    queue_ids: tuple[int, ...] = ()
    line_ids: tuple[int, ...] = ()
    number: str = ""  # either end's number, exactly (as normalised)
    counterparty_id: int | None = None  # a client's calls; a company's and its clients'
    tag_ids: tuple[int, ...] = ()  # tags of the call's counterparty
    without_tag_ids: tuple[int, ...] = ()
    q: str = ""
    page: int = 1
    size: int = 50
    timezone: str = DEFAULT_TIMEZONE
    default_region: str = DEFAULT_REGION


class _Params:
    def __init__(self, start: int) -> None:
        self.start = start
        self.values: list = []

    def __call__(self, value) -> str:
        self.values.append(value)
        return f"${self.start + len(self.values) - 1}"


OPERATOR = "coalesce(c.operator_user_id, c.caller_user_id)"


# What the search reads of a call, as migration 0036's trigram index has it (the same text, or the
# index is not used): both numbers as dialled and as normalised, the caller's name, the comment.
SEARCH_TEXT = ("search_fold(c.caller_number || ' ' || c.called_number || ' ' || coalesce(c.caller_normalized, '') "
               "|| ' ' || coalesce(c.called_normalized, '') || ' ' || c.caller_name || ' ' || c.comment)")


def _search(p: _Params, q: str, region: str) -> str | None:
    """Every term matches the call's own text or its counterparty's (names, remark, contacts): each
    side through its trigram index."""
    terms = search_terms(q, region) if len(q.strip()) >= MIN_QUERY else []
    if not terms:
        return None
    parts = []
    for term in terms:
        likes = [p(f"%{escape_like(a)}%") for a in term]
        own = " OR ".join(f"{SEARCH_TEXT} LIKE {like}" for like in likes)
        theirs = " OR ".join(f"s.search_text LIKE {like}" for like in likes)
        parts.append(f"({own} OR c.counterparty_id = ANY(ARRAY(SELECT s.id FROM counterparties s "
                     f"WHERE {theirs})))")
    return "(" + " AND ".join(parts) + ")"


def where(query: CallQuery, visible: Visible = ("true", [])) -> tuple[str, list]:
    """The SQL condition over calls c (the rules' first, from $1) and all its parameters."""
    p = _Params(len(visible[1]) + 1)
    conditions = [f"({visible[0]})", *period(p, "c.started_at", query.start, query.end, query.timezone),
                  *one_of(p, "c.direction", query.directions, DIRECTIONS),
                  *one_of(p, "c.status", query.statuses, STATUSES)]
    if query.operator_ids:
        conditions.append(f"{OPERATOR} = ANY({p(list(query.operator_ids))}::bigint[])")
    if query.queue_ids:
        conditions.append(f"c.queue_id = ANY({p(list(query.queue_ids))}::bigint[])")
    if query.line_ids:
        conditions.append(f"c.line_id = ANY({p(list(query.line_ids))}::bigint[])")
    if query.number.strip():
        # As the PBX stored it (caller_match_key): both columns are indexed.
        k = p(caller_match_key(query.number, query.default_region) or query.number.strip())
        conditions.append(f"(c.caller_normalized = {k} OR c.called_normalized = {k})")
    if query.counterparty_id is not None:  # a company's calls are its clients' too, as on its card
        conditions.append(counterparty_or_members(p, "c.counterparty_id", query.counterparty_id))
    conditions += tag_conditions(p, "c.counterparty_id", "counterparty", query.tag_ids, query.without_tag_ids)
    search = _search(p, query.q, query.default_region)
    if search:
        conditions.append(search)
    return " AND ".join(conditions), [*visible[1], *p.values]


_COLUMNS = """c.id, c.channel_id, c.direction, c.caller_number, c.caller_name, c.called_number,
              c.line, c.started_at, c.answered_at, c.ended_at, c.wait_seconds, c.talk_seconds,
              c.status, c.hangup_cause, c.route, c.comment, c.counterparty_id, cp.display_name AS counterparty_name,
              cp.remark AS counterparty_remark, u.full_name AS operator_name, c.line_id, l.name AS line_name,
              coalesce(l.name, c.line) AS line_text, c.queue_id, q.name AS queue_name"""
_JOINS = """LEFT JOIN counterparties cp ON cp.id = c.counterparty_id
            LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
            LEFT JOIN lines l ON l.id = c.line_id
            LEFT JOIN queues q ON q.id = c.queue_id"""
_ORDER = "ORDER BY c.started_at DESC, c.id DESC"


async def count_calls(conn: asyncpg.Connection, query: CallQuery, visible: Visible = ("true", [])) -> tuple[int, bool]:
    """How many calls match, at most COUNT_CAP; and whether there are more."""
    condition, args = where(query, visible)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM calls c WHERE {condition} LIMIT {COUNT_CAP + 1}) t"
    if not query.q.strip():
        n = await conn.fetchval(sql, *args)
    else:  # a search's matches come as a bitmap: kept exact, each match's text is read once, not a page's worth
        async with conn.transaction():
            await conn.execute(f"SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
            n = await conn.fetchval(sql, *args)
    return min(n, COUNT_CAP), n > COUNT_CAP


# A broad search's first pages come from the newest calls, read off calls_started_idx until the page is full,
# rather than from all of its matches sorted (issue 25: a search matching 60,000 of 10,000,000 calls: 0.5 s ->
# 20 ms). The other filters have indexes in the page's order. At most this many of the newest calls are read
# so; a page not filled there is looked for the usual way.
NEWEST_WINDOW = 200_000


async def list_calls(conn: asyncpg.Connection, query: CallQuery, visible: Visible = ("true", []), *,
                     many: bool = False) -> list[dict]:
    """A page of the matching calls, newest first; the page's calls are found before anything is joined to them.
    `many`: the filter matches many calls (count_calls was capped), so a search's page is among the newest."""
    condition, args = where(query, visible)
    n = len(args)
    page = f"WHERE {condition} {_ORDER} LIMIT ${n + 1} OFFSET ${n + 2}"
    values = (*args, query.size, (query.page - 1) * query.size)
    if many and query.q.strip() and query.page * query.size <= COUNT_CAP:
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM (
                    SELECT * FROM (SELECT * FROM calls c {_ORDER} LIMIT {NEWEST_WINDOW}) c {page}) c
                {_JOINS} {_ORDER}""", *values)
        if len(rows) == query.size:  # the whole page is among the newest calls: none older comes before it
            return [dict(r) for r in rows]
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM (SELECT * FROM calls c {page}) c {_JOINS} {_ORDER}", *values)
    return [dict(r) for r in rows]


async def playable(conn: asyncpg.Connection, call_ids: list[int], listen: Visible) -> dict[int, int]:
    """{call id: its latest stored recording} of those calls the user may listen to (`listen`: the
    call rules' LISTEN condition, its parameters from $2)."""
    if not call_ids:
        return {}
    rows = await conn.fetch(
        f"""SELECT c.id, (SELECT r.id FROM recordings r WHERE r.call_id = c.id AND r.path IS NOT NULL
                          ORDER BY r.id DESC LIMIT 1) AS recording_id
            FROM calls c WHERE c.id = ANY($1::bigint[]) AND {listen[0]}""", call_ids, *listen[1])
    return {r["id"]: r["recording_id"] for r in rows if r["recording_id"] is not None}


def export_batches(conn: asyncpg.Connection, query: CallQuery, size: int,
                   visible: Visible = ("true", [])) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching call, in the list's order, through a server-side cursor."""
    condition, args = where(query, visible)
    return batches(conn, f"SELECT {_COLUMNS} FROM calls c {_JOINS} WHERE {condition} {_ORDER}", args, size)


async def choices(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """What the filters offer: users, queues and lines, live ones first (old calls name deleted ones)."""
    return {
        "operators": await conn.fetch("SELECT id, full_name FROM users "
                                      "ORDER BY deleted_at IS NOT NULL, lower(full_name), id"),
        "queues": await conn.fetch("SELECT id, name FROM queues ORDER BY deleted_at IS NOT NULL, lower(name), id"),
        "lines": await conn.fetch("SELECT id, name FROM lines ORDER BY deleted_at IS NOT NULL, lower(name), id"),
    }
