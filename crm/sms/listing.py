"""The SMS list (issue 21, I1): filters, search, a capped count and paging on the server, and the same
rows for the Excel export.

Only whitelisted columns reach the SQL; every value is a $n parameter. Who sees which message
(`visibility`, one pure function of the reader) is part of the condition, so the list, its count, its
JSON and its export keep only the messages the reader may see:

- a message on a card: as the card (crm/counterparties/permissions.can_view: every user sees every live
  card; supervisors and admins the deleted ones too);
- a message on no card: supervisors and admins see all; the roles that attach unknown senders
  (ATTACH_ROLES: managers and up) the incoming ones; anyone the ones they wrote themselves;
- a customer's user (issue 22, G3): only the messages sent under its customer's orders, card or not
  (crm/customers_scope.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import asyncpg

from crm import customers_scope
from crm.counterparties.listing import escape_like
from crm.db import batches
from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.list_conditions import counterparty_or_members, one_of, period
from crm.phones import caller_match_key
from crm.roles import ADMIN, MANAGER, SUPERVISOR, sees_everything
from crm.search import search_terms
from crm.sms import model
from crm.tags import tag_conditions

DIRECTIONS = ("in", "out")
STATUSES = model.STATUSES
COUNT_CAP = 10_000
MIN_QUERY = 2
# Who attaches a message from an unknown number to a card (crm/sms/attach.py) and so sees those messages.
ATTACH_ROLES = (MANAGER, SUPERVISOR, ADMIN)


def may_attach(user: Mapping) -> bool:
    return user["role"] in ATTACH_ROLES


@dataclass(frozen=True)
class SmsQuery:
    start: dt.date | None = None  # the call centre's days, both included
    end: dt.date | None = None
    directions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    author_ids: tuple[int, ...] = ()  # who wrote it (sms_messages.user_id)
    own_numbers: tuple[str, ...] = ()  # our sending number
    gateway_ids: tuple[int, ...] = ()
    counterparty_id: int | None = None  # a client's messages; a company's and its clients'
    number: str = ""  # the other side's number, exactly (as normalised)
    tag_ids: tuple[int, ...] = ()
    without_tag_ids: tuple[int, ...] = ()
    unattached: bool = False  # only the messages on no card
    q: str = ""  # the text and the number
    page: int = 1
    size: int = 50
    timezone: str = DEFAULT_TIMEZONE
    default_region: str = DEFAULT_REGION


def visibility(user: Mapping, p) -> str:
    """The SQL condition over sms_messages m joined to counterparties cp for what `user` may see."""
    if customers_scope.decides(user):
        customer_id = customers_scope.customer_of(user)
        if customer_id is None:
            return "false"
        return customers_scope.SMS_SCOPE_SQL.format(a="m", c=p(customer_id) + "::bigint")
    if sees_everything(user):
        return "true"
    me = p(user["id"])
    unattached = f"m.user_id = {me}"
    if may_attach(user):
        unattached += " OR m.direction = 'in'"
    return (f"((m.counterparty_id IS NOT NULL AND cp.deleted_at IS NULL) "
            f"OR (m.counterparty_id IS NULL AND ({unattached})))")


def _search(p, q: str, region: str) -> str | None:
    """Every term matches the text or the number (a phone-like term in any of its written forms)."""
    terms = search_terms(q, region) if len(q.strip()) >= MIN_QUERY else []
    if not terms:
        return None
    return "(" + " AND ".join(
        "(" + " OR ".join(f"search_fold(m.body || ' ' || m.phone) LIKE {p(f'%{escape_like(a)}%')}" for a in term) + ")"
        for term in terms) + ")"


def where(query: SmsQuery, user: Mapping) -> tuple[str, list]:
    """The SQL condition over m and cp, and its parameters from $1."""
    args: list = []

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    conditions = [visibility(user, p), *period(p, "m.created_at", query.start, query.end, query.timezone),
                  *one_of(p, "m.direction", query.directions, DIRECTIONS),
                  *one_of(p, "m.status", query.statuses, STATUSES)]
    if query.author_ids:
        conditions.append(f"m.user_id = ANY({p(list(query.author_ids))}::bigint[])")
    if query.own_numbers:
        conditions.append(f"m.own_number = ANY({p(list(query.own_numbers))}::text[])")
    if query.gateway_ids:
        conditions.append(f"m.gateway_id = ANY({p(list(query.gateway_ids))}::int[])")
    if query.number.strip():
        number = caller_match_key(query.number, query.default_region) or query.number.strip()
        conditions.append(f"m.phone = {p(number)}")
    if query.counterparty_id is not None:
        conditions.append(counterparty_or_members(p, "m.counterparty_id", query.counterparty_id))
    if query.unattached:
        conditions.append("m.counterparty_id IS NULL")
    conditions += tag_conditions(p, "m.counterparty_id", "counterparty", query.tag_ids, query.without_tag_ids)
    search = _search(p, query.q, query.default_region)
    if search:
        conditions.append(search)
    return " AND ".join(conditions), args


_FROM = "sms_messages m LEFT JOIN counterparties cp ON cp.id = m.counterparty_id"
_COLUMNS = """m.id, m.direction, m.phone, m.own_number, m.body, m.parts, m.status, m.status_at, m.error,
              m.created_at, m.counterparty_id, cp.display_name AS counterparty_name,
              cp.remark AS counterparty_remark, m.user_id,
              u.full_name AS author_name, m.gateway_id, g.name AS gateway_name"""
_JOINS = """LEFT JOIN users u ON u.id = m.user_id
            LEFT JOIN sms_gateways g ON g.id = m.gateway_id"""
_ORDER = "ORDER BY m.created_at DESC, m.id DESC"


async def count_messages(conn: asyncpg.Connection, query: SmsQuery, user: Mapping) -> tuple[int, bool]:
    """How many messages match, at most COUNT_CAP; and whether there are more."""
    condition, args = where(query, user)
    n = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {_FROM} WHERE {condition} "
                            f"LIMIT {COUNT_CAP + 1}) t", *args)
    return min(n, COUNT_CAP), n > COUNT_CAP


async def list_messages(conn: asyncpg.Connection, query: SmsQuery, user: Mapping) -> list[dict]:
    """A page of the matching messages, newest first."""
    condition, args = where(query, user)
    n = len(args)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {_FROM} {_JOINS} WHERE {condition} {_ORDER} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args, query.size, (query.page - 1) * query.size)
    return [dict(r) for r in rows]


def export_batches(conn: asyncpg.Connection, query: SmsQuery, user: Mapping,
                   size: int) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching message, in the list's order, through a server-side cursor."""
    condition, args = where(query, user)
    return batches(conn, f"SELECT {_COLUMNS} FROM {_FROM} {_JOINS} WHERE {condition} {_ORDER}", args, size)


async def choices(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """What the filters offer: authors, our sending numbers, gateways."""
    return {
        "authors": await conn.fetch("SELECT id, full_name FROM users "
                                    "ORDER BY deleted_at IS NOT NULL, lower(full_name), id"),
        "own_numbers": await conn.fetch("SELECT number FROM sms_numbers ORDER BY number"),
        "gateways": await conn.fetch("SELECT id, name FROM sms_gateways ORDER BY NOT active, lower(name), id"),
    }


async def sms_enabled(conn: asyncpg.Connection) -> bool:
    """Whether any SMS can be sent: an active gateway with a sending number (the SMS icons show then)."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sms_numbers n JOIN sms_gateways g "
                               "ON g.id = n.gateway_id WHERE g.active)")
