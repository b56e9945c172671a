"""SQL of the call records from CEL: reading Asterisk's CEL table (wherever it is), and writing
the call log's rows and the checkpoint (in the CRM's database, in one transaction)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from crm.calls import route
from crm.calls.route import Outcome
from crm.cel.events import COLUMNS
from crm.cel.rows import CallRow, Completion, Directory, LoggedRow, directory_of
from crm.counterparties.queries import number_owner_sql
from crm.settings import TABLE_NAME

_NUMERIC = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


class CelUnavailable(Exception):
    """The CEL table cannot be read: missing, or without the columns a call is built from."""


def source_key(database_url: str, table: str) -> str:
    """The CEL table's name in cel_checkpoints: server, database and table, no credentials."""
    parts = urllib.parse.urlsplit(database_url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}/{table}"


@dataclass(frozen=True)
class CelTable:
    """A CEL table as read: its quoted name, and how its eventtime is stored."""

    name: str
    sql_name: str
    time_type: str
    zone: dt.tzinfo

    @classmethod
    async def open(cls, conn: asyncpg.Connection, name: str, zone: str) -> "CelTable":
        if not TABLE_NAME.match(name):
            raise CelUnavailable(f"{name!r} is not a table name")
        schema, _, table = name.rpartition(".")
        rows = await conn.fetch(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_name = $1 AND table_schema = coalesce(nullif($2, ''), current_schema())""",
            table, schema)
        types = {r["column_name"]: r["data_type"] for r in rows}
        if not types:
            raise CelUnavailable(f"there is no table {name} (asterisk-conf/cel_pgsql.sql makes it)")
        missing = [c for c in COLUMNS if c not in types]
        if missing:
            raise CelUnavailable(f"table {name} has no column {', '.join(missing)}")
        return cls(name, ".".join(f'"{p}"' for p in name.split(".")), types["eventtime"], zoneinfo.ZoneInfo(zone))

    def time_param(self, at: dt.datetime) -> object:
        """`at` as a value to compare with the eventtime column."""
        if self.time_type == "timestamp with time zone":
            return at
        if self.time_type in _NUMERIC:
            return at.timestamp()
        local = at.astimezone(self.zone).replace(tzinfo=None)
        return local if self.time_type.startswith("timestamp") else local.isoformat(" ")

    @property
    def _columns(self) -> str:
        return ", ".join(COLUMNS)

    async def max_id(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {self.sql_name}")

    async def first_id_since(self, conn: asyncpg.Connection, since: dt.datetime) -> int:
        """The id before the first event at or after `since` (the end of the table if none)."""
        found = await conn.fetchval(f"SELECT min(id) FROM {self.sql_name} WHERE eventtime >= $1",
                                    self.time_param(since))
        return found - 1 if found is not None else await self.max_id(conn)

    async def window(self, conn: asyncpg.Connection, after: int, upto: int, limit: int) -> list[asyncpg.Record]:
        """The next rows after id `after`, up to `upto`, in id order."""
        return await conn.fetch(
            f"SELECT {self._columns} FROM {self.sql_name} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
            after, upto, limit)

    async def earlier_events(self, conn: asyncpg.Connection, linkedids: list[str],
                             before: int) -> list[asyncpg.Record]:
        """These calls' events from before the window (id <= `before`)."""
        return await conn.fetch(
            f"SELECT {self._columns} FROM {self.sql_name} WHERE linkedid = ANY($1::text[]) AND id <= $2",
            linkedids, before)


async def checkpoint(conn: asyncpg.Connection, source: str) -> int:
    """The last CEL id read from `source`, its row locked to this transaction: one reconciler at a time."""
    await conn.execute("INSERT INTO cel_checkpoints (source) VALUES ($1) ON CONFLICT (source) DO NOTHING", source)
    return await conn.fetchval("SELECT last_id FROM cel_checkpoints WHERE source = $1 FOR UPDATE", source)


async def restart(conn: asyncpg.Connection, source: str) -> None:
    """Read `source` from its start again: its ids restarted (the table was made anew)."""
    await conn.execute("UPDATE cel_checkpoints SET last_id = 0, updated_at = now() WHERE source = $1", source)


async def advance(conn: asyncpg.Connection, source: str, last_id: int, *, garbage_rows: int, skipped_calls: int,
                  calls_added: int, calls_completed: int) -> None:
    await conn.execute(
        """UPDATE cel_checkpoints SET last_id = greatest(last_id, $2), garbage_rows = garbage_rows + $3,
                  skipped_calls = skipped_calls + $4, calls_added = calls_added + $5,
                  calls_completed = calls_completed + $6, updated_at = now()
           WHERE source = $1""",
        source, last_id, garbage_rows, skipped_calls, calls_added, calls_completed)


async def checkpoint_of(conn: asyncpg.Connection, source: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM cel_checkpoints WHERE source = $1", source)


async def directory(conn: asyncpg.Connection) -> Directory:
    users = await conn.fetch("SELECT id, extension, dial, full_name FROM users WHERE deleted_at IS NULL")
    lines = await conn.fetch("SELECT id, trunk, did FROM lines WHERE deleted_at IS NULL")
    default_queue = await conn.fetchval("SELECT id FROM queues WHERE is_default AND deleted_at IS NULL")
    return directory_of(((u["id"], u["extension"], u["dial"], u["full_name"]) for u in users),
                        ((r["id"], r["trunk"], r["did"]) for r in lines), default_queue)


async def logged_rows(conn: asyncpg.Connection, channel_ids: list[str], linkedids: list[str]) -> list[LoggedRow]:
    """The call log's rows of these channels or linkedids."""
    rows = await conn.fetch(
        """SELECT channel_id, linked_id, answered_at, ended_at, operator_user_id FROM calls
           WHERE channel_id = ANY($1::text[]) OR linked_id = ANY($2::text[])""",
        channel_ids, linkedids)
    return [LoggedRow(r["channel_id"], r["linked_id"], r["answered_at"], r["ended_at"], r["operator_user_id"])
            for r in rows]


_FAR_END_OWNER = number_owner_sql("CASE WHEN r.direction = 'outgoing' THEN r.called_normalized "
                                  "ELSE r.caller_normalized END")
_ROW_FIELDS = (("channel_id", "text"), ("linked_id", "text"), ("direction", "text"), ("caller_number", "text"),
               ("caller_normalized", "text"), ("caller_name", "text"), ("called_number", "text"),
               ("called_normalized", "text"), ("line", "text"), ("started_at", "timestamptz"),
               ("answered_at", "timestamptz"), ("ended_at", "timestamptz"), ("status", "text"),
               ("hangup_cause", "int"), ("operator_user_id", "bigint"), ("caller_user_id", "bigint"),
               ("line_id", "bigint"), ("queue_id", "bigint"), ("route", "jsonb"), ("node", "text"))
_INSERT = f"""
    INSERT INTO calls ({", ".join(n for n, _ in _ROW_FIELDS)}, counterparty_id, owner_user_id, shop_order_id)
    SELECT r.*, m.id, (SELECT cp.responsible_user_id FROM counterparties cp WHERE cp.id = m.id),
           (SELECT o.id FROM shop_orders o WHERE o.is_open AND o.phone_normalized = (  -- issue 24: its open order
                CASE WHEN r.direction = 'outgoing' THEN r.called_normalized ELSE r.caller_normalized END)
            ORDER BY o.created_at DESC, o.id DESC LIMIT 1)
    FROM unnest({", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(_ROW_FIELDS, 1))})
         AS r({", ".join(n for n, _ in _ROW_FIELDS)})
    CROSS JOIN LATERAL (SELECT {_FAR_END_OWNER} AS id) m
    ON CONFLICT (channel_id) DO NOTHING
    RETURNING channel_id"""


async def insert_rows(conn: asyncpg.Connection, rows: Sequence[CallRow]) -> list[str]:
    """The rows, each with the client of its far end's number; the channel ids of those added
    (a row some other writer added meanwhile is left as it is: the unique channel id decides)."""
    if not rows:
        return []
    columns = [[getattr(r, name) for r in rows] for name, _ in _ROW_FIELDS]
    return [r["channel_id"] for r in await conn.fetch(_INSERT, *columns)]


# The step the app's unfinished rows get: "Asterisk told how the call ended: the CRM app stopped during it".
_ENDED_IN_CEL = json.dumps([route.step("note", "asterisk", Outcome("ended_in_cel"))])


async def complete_rows(conn: asyncpg.Connection, completions: Sequence[Completion]) -> list[str]:
    """The ends of rows the app left without one; the channel ids of those completed."""
    if not completions:
        return []
    rows = await conn.fetch(
        """UPDATE calls c SET ended_at = u.ended_at, hangup_cause = coalesce(c.hangup_cause, u.cause),
                  status = u.status, answered_at = coalesce(c.answered_at, u.answered_at),
                  operator_user_id = coalesce(c.operator_user_id, u.operator), route = c.route || $7::jsonb
           FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::text[], $5::timestamptz[], $6::bigint[])
                AS u(channel_id, ended_at, cause, status, answered_at, operator)
           WHERE c.channel_id = u.channel_id AND c.ended_at IS NULL
           RETURNING c.channel_id""",
        [c.channel_id for c in completions], [c.ended_at for c in completions],
        [c.hangup_cause for c in completions], [c.status for c in completions],
        [c.answered_at for c in completions], [c.operator_user_id for c in completions], _ENDED_IN_CEL)
    return [r["channel_id"] for r in rows]
