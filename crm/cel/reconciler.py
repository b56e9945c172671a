"""The call log's rows from Asterisk's CEL, in batches: in `pbxcrm ari` as a background task, and
as `pbxcrm reconcile`.

A batch is the next CEL rows after the checkpoint (by id: one Asterisk writes its table through
one connection, so ids are in commit order). Each call that ended in them (LINKEDID_END) is
read whole by its linkedid and becomes a row, unless the app logged it (crm/cel/rows.py); the
rows, the app's rows completed and the moved checkpoint commit together, so a reconciler
killed mid-batch leaves nothing of it and the next run redoes it. The unique channel id
decides between writers, so running twice changes nothing.

A call is taken up only once its last events are `grace` seconds old, so the app's own end of
a call it handled is written first. Garbage rows are skipped with a log line and counted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import zoneinfo
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields

import asyncpg

from crm.cel import queries as q
from crm.cel.events import CelEvent, Garbage, event_of
from crm.cel.facts import CallFacts, Skipped, facts_of
from crm.cel.rows import CallRow, plan
from crm.db import DATABASE_ERRORS
from crm.settings import Settings
from crm.tasks import callbacks

log = logging.getLogger(__name__)

# A missed call older than this gets no callback task when it is finally logged: too late to help.
CALLBACK_HORIZON = dt.timedelta(hours=24)
# Garbage rows logged one by one per batch; the rest in one line.
GARBAGE_LINES = 20
# `pbxcrm ari` takes up a call this long after its end: the app writes the end of its own calls first.
GRACE_SECONDS = 5.0


@dataclass
class Stats:
    rows: int = 0  # CEL rows read
    added: int = 0  # call rows added
    completed: int = 0  # the app's unfinished rows completed
    skipped_calls: int = 0  # calls whose events contradict each other
    garbage: int = 0  # rows skipped as garbage
    callbacks: int = 0  # callback tasks for missed calls
    batches: int = 0
    last_id: int = 0

    def add(self, other: "Stats") -> None:
        for f in fields(self):
            if f.name != "last_id":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.last_id = max(self.last_id, other.last_id)

    def __str__(self) -> str:
        return (f"{self.rows} CEL rows read, {self.added} calls added, {self.completed} completed, "
                f"{self.skipped_calls} calls skipped, {self.garbage} garbage rows skipped, "
                f"{self.callbacks} callback tasks")


class Reconciler:
    def __init__(self, pool: asyncpg.Pool, *, cel_url: str, table: str, zone: str = "UTC", region: str,
                 timezone: str, same_database: bool, batch_rows: int = 5000):
        self._pool = pool
        self._cel_url = cel_url
        self._table_name = table
        self._zone = zoneinfo.ZoneInfo(zone)
        self._zone_name = zone
        self._region = region
        self._timezone = timezone
        self._same_database = same_database
        self._batch_rows = batch_rows
        self.source = q.source_key(cel_url, table)
        self._source_conn: asyncpg.Connection | None = None
        self._table: q.CelTable | None = None

    @classmethod
    def from_settings(cls, pool: asyncpg.Pool, settings: Settings, **kw) -> "Reconciler":
        cel_url = settings.cel_database_url or settings.database_url
        return cls(pool, cel_url=cel_url, table=settings.cel_table, zone=settings.cel_timezone,
                   region=settings.default_region, timezone=settings.timezone,
                   same_database=cel_url == settings.database_url, **kw)

    async def close(self) -> None:
        conn, self._source_conn = self._source_conn, None
        if conn is not None:
            try:
                await conn.close(timeout=2)
            except DATABASE_ERRORS:  # asyncio's TimeoutError is an OSError
                conn.terminate()  # the server is gone: nothing to say goodbye to

    @asynccontextmanager
    async def _reading(self, conn: asyncpg.Connection) -> AsyncIterator[tuple[asyncpg.Connection, q.CelTable]]:
        """The connection CEL is read on (the CRM's own when the table is in its database), and the table."""
        if self._same_database:
            source = conn
        else:
            if self._source_conn is None or self._source_conn.is_closed():
                self._source_conn = await asyncpg.connect(self._cel_url, timeout=5)
            source = self._source_conn
        try:
            if self._table is None:
                self._table = await q.CelTable.open(source, self._table_name, self._zone_name)
            yield source, self._table
        except DATABASE_ERRORS:
            self._table = None
            if source is not conn:
                await self.close()
            raise

    async def max_id(self) -> int:
        async with self._pool.acquire() as conn, self._reading(conn) as (source, table):
            return await table.max_id(source)

    async def catch_up(self, *, upto: int | None = None, since: dt.datetime | None = None) -> Stats:
        """Batches until CEL id `upto` (the table's end when None): from the checkpoint, or from the
        first event at or after `since` (re-reading what was read is harmless; the checkpoint
        then moves on past what this read)."""
        total = Stats()
        async with self._pool.acquire() as conn:
            async with self._reading(conn) as (source, table):
                end = await table.max_id(source)
                upto = end if upto is None else min(upto, end)
                position = await table.first_id_since(source, since) if since is not None else None
            while True:
                async with conn.transaction(), self._reading(conn) as (source, table):
                    last = await q.checkpoint(conn, self.source)
                    if last > end and position is None:
                        log.warning("CEL %s: its ids end at %d, before the %d read: the table was made anew; "
                                    "reading it from the start", self.source, end, last)
                        await q.restart(conn, self.source)
                        last = 0
                    start = last if position is None else position
                    stats = await self._batch(conn, source, table, start, upto, last)
                    if stats is None:
                        if start > last:  # `since` after everything read: read on from there
                            await q.advance(conn, self.source, start, garbage_rows=0, skipped_calls=0,
                                            calls_added=0, calls_completed=0)
                        total.last_id = max(total.last_id, start, last)
                        return total
                total.add(stats)
                position = stats.last_id if position is not None else None

    async def _batch(self, conn: asyncpg.Connection, source: asyncpg.Connection, table: q.CelTable, start: int,
                     upto: int, checkpoint: int) -> Stats | None:
        """One batch after CEL id `start`, in the caller's transaction; None when there is none.
        Only rows past `checkpoint` are counted: the others were counted when first read."""
        window = await table.window(source, start, upto, self._batch_rows)
        if not window:
            return None
        stats = Stats(rows=len(window), batches=1, last_id=window[-1]["id"])
        now = dt.datetime.now(dt.timezone.utc)
        events: list[CelEvent] = []
        garbage: list[Garbage] = []
        for row in window:
            parsed = event_of(row, naive_zone=self._zone, now=now)
            if isinstance(parsed, Garbage):
                if parsed.id is None or parsed.id > checkpoint:
                    garbage.append(parsed)
            else:
                events.append(parsed)
        stats.garbage = len(garbage)
        _log_garbage(garbage, self.source)
        ends = {e.linkedid: e.id for e in events if e.type == "LINKEDID_END"}
        calls = await self._calls(source, table, events, list(ends), window[0]["id"] - 1, now)
        facts: list[CallFacts] = []
        for call in calls:
            if isinstance(call, Skipped):
                if not call.nothing_to_log and ends[call.linkedid] > checkpoint:
                    stats.skipped_calls += 1
                    log.warning("CEL call %s (%s) skipped: %s", call.linkedid, self.source, call.reason)
            else:
                facts.append(call)
        logged = await q.logged_rows(conn, [c for f in facts for c in (f.channel_id, *f.ends)], list(ends))
        todo = plan(facts, logged, await q.directory(conn), self._region)
        added = set(await q.insert_rows(conn, todo.rows))
        stats.added = len(added)
        stats.completed = len(await q.complete_rows(conn, todo.completions))
        stats.callbacks = await self._callbacks([r for r in todo.rows if r.channel_id in added], conn, now)
        await q.advance(conn, self.source, stats.last_id, garbage_rows=stats.garbage,
                        skipped_calls=stats.skipped_calls, calls_added=stats.added, calls_completed=stats.completed)
        for row in todo.rows:
            if row.channel_id in added:
                log.info("channel %s: call from %s to %s logged from CEL (%s)", row.channel_id, row.caller_number,
                         row.called_number, row.status)
        return stats

    async def _calls(self, source: asyncpg.Connection, table: q.CelTable, window: list[CelEvent],
                     ended: list[str], before: int, now: dt.datetime) -> list[CallFacts | Skipped]:
        """The calls that ended in the window, each from all its events."""
        if not ended:
            return []
        by_call: dict[str, list[CelEvent]] = defaultdict(list)
        for row in await table.earlier_events(source, ended, before):
            parsed = event_of(row, naive_zone=self._zone, now=now)
            if isinstance(parsed, CelEvent):  # garbage among them was counted when its window was read
                by_call[parsed.linkedid].append(parsed)
        wanted = set(ended)
        for e in window:
            if e.linkedid in wanted:
                by_call[e.linkedid].append(e)
        return [facts_of(linkedid, by_call[linkedid]) for linkedid in ended]

    async def _callbacks(self, rows: list[CallRow], conn: asyncpg.Connection, now: dt.datetime) -> int:
        """Missed calls become callback tasks, as the app's do (crm/tasks/callbacks.py): a client's for
        its manager, a stranger's for the queue it waited in."""
        made = 0
        for row in rows:
            if row.direction == "incoming" and row.status == "missed" and row.ended_at > now - CALLBACK_HORIZON:
                made += await callbacks.create_for_missed_call(conn, row.channel_id, self._timezone,
                                                               self._region) is not None
        return made

    async def run_forever(self, *, interval: float, grace: float,
                          quiet: Callable[[], Awaitable[None]] | None = None) -> None:
        """Catch up every `interval` seconds, with the rows that were in the table `grace` seconds ago;
        each time after `quiet()` (the Stasis app's: no call being looked up just then)."""
        seen: list[tuple[float, int]] = []
        bound = done = 0
        trouble: str | None = None
        while True:
            if quiet is not None:
                await quiet()
            try:
                now = time.monotonic()
                seen.append((now, await self.max_id()))
                while seen and seen[0][0] <= now - grace:
                    bound = max(bound, seen.pop(0)[1])
                if bound > done:
                    stats = await self.catch_up(upto=bound)
                    done = max(bound, stats.last_id)
                    if stats.rows:
                        log.info("CEL %s up to id %d: %s", self.source, stats.last_id, stats)
                if trouble is not None:
                    log.info("CEL %s: reading again", self.source)
                    trouble = None
            except q.CelUnavailable as e:
                if trouble != str(e):
                    log.warning("CEL %s: call records from CEL are off until it can be read: %s", self.source, e)
                trouble = str(e)
                self._table = None
                await asyncio.sleep(max(interval, 30))
                continue
            except DATABASE_ERRORS as e:
                if trouble != type(e).__name__:
                    log.warning("CEL %s: database unavailable (%s: %s); will retry", self.source, type(e).__name__, e)
                trouble = type(e).__name__
            except Exception:  # a batch it cannot write: said, and tried again later, never the end of the task
                log.exception("CEL %s: reading failed; trying again in 30 s", self.source)
                trouble = "error"
                self._table = None
                await asyncio.sleep(max(interval, 30))
                continue
            await asyncio.sleep(interval)


async def reconcile_forever(pool: asyncpg.Pool, settings: Settings,
                            quiet: Callable[[], Awaitable[None]] | None = None) -> None:
    """`pbxcrm ari`'s background task (off when PBXCRM_CEL_TABLE is empty); `quiet` as run_forever's."""
    if not settings.cel_table:
        log.info("call records from CEL are off (PBXCRM_CEL_TABLE is empty)")
        return
    reconciler = Reconciler.from_settings(pool, settings)
    log.info("call records from CEL: reading %s", reconciler.source)
    try:
        await reconciler.run_forever(interval=settings.cel_interval_seconds, grace=GRACE_SECONDS, quiet=quiet)
    finally:
        await reconciler.close()


def _log_garbage(garbage: list[Garbage], source: str) -> None:
    for g in garbage[:GARBAGE_LINES]:
        log.warning("CEL row %s of %s skipped: %s", g.id, source, g.reason)
    if len(garbage) > GARBAGE_LINES:
        log.warning("CEL %s: %d more garbage rows skipped in this batch", source, len(garbage) - GARBAGE_LINES)


_RELATIVE = re.compile(r"^(\d+)\s*([mhd])$")


def parse_since(text: str, now: dt.datetime, zone: str) -> dt.datetime:
    """`--since`: 30m, 2h, 7d ago, or a date or date and time on the call centre's clock; ValueError else."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - dt.timedelta(**{unit: int(m.group(1))})
    if text == "now":
        return now
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=zoneinfo.ZoneInfo(zone))
