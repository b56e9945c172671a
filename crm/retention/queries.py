"""Every SQL statement of retention: the setting, the lock, what is due, one batch's changes.

Batches go by primary key (keyset, `id > last`) under a short lock_timeout with FOR UPDATE SKIP LOCKED, so a
live write never waits on more than one small batch and a row someone holds is left for the next run. If calls
become partitioned by month, the calls' part here is the one to change (detach and drop whole partitions).
Statistics kept elsewhere (rollups of calls per day) are not touched by anything here.
"""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from crm import audit
from crm.retention.policy import RetentionPolicy, from_stored

SETTING = "retention"
LOCK = 0x7062787265746E  # "pbxretn": one retention run at a time, the background job's or a command's
LOCK_TIMEOUT = "200ms"
# How far after its start a call's row may be written (CEL reconciles late): the id bound's look-back.
LATE_WRITES = dt.timedelta(days=7)


async def load_policy(conn: asyncpg.Connection) -> RetentionPolicy:
    raw = await conn.fetchval("SELECT value FROM app_settings WHERE key = $1", SETTING)
    return from_stored(json.loads(raw) if raw else None)


async def save_policy(conn: asyncpg.Connection, user_id: int | None, policy: RetentionPolicy) -> None:
    async with conn.transaction():
        before = await load_policy(conn)
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $3""",
            SETTING, json.dumps(policy.stored()), user_id)
        changes = audit.diff(before.stored(), policy.stored())
        if changes:
            await audit.record(conn, user_id, "settings", None, "retention", changes)


async def last_run(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The latest run that removed something (its audit entry)."""
    return await conn.fetchrow(
        "SELECT at, changes FROM audit_log WHERE entity = 'retention' AND action = 'retention run' "
        "ORDER BY at DESC, id DESC LIMIT 1")


async def record_run(conn: asyncpg.Connection, changes: dict) -> None:
    await audit.record(conn, None, "retention", None, "retention run", changes)


async def references(conn: asyncpg.Connection) -> dict[str, str]:
    """{table: its foreign key's ON DELETE ('a' no action, 'r' restrict, 'c' cascade, 'n' set null)} for
    every table with a foreign key to calls(id)."""
    rows = await conn.fetch(
        """SELECT conrelid::regclass::text AS t, confdeltype::text AS kind FROM pg_constraint
           WHERE contype = 'f' AND confrelid = 'calls'::regclass""")
    return {r["t"]: r["kind"] for r in rows}


async def try_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK))


async def unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", LOCK)


async def call_id_bound(conn: asyncpg.Connection, cutoff: dt.datetime) -> int:
    """An id no call older than cutoff is above, except ones written more than LATE_WRITES after their start
    (a later run, with a later cutoff, takes those). Cheap: a week of calls on calls_started_idx."""
    return await conn.fetchval(
        """SELECT greatest((SELECT max(id) FROM calls WHERE started_at >= $1::timestamptz - $2::interval
                                                          AND started_at < $1),
                           (SELECT id FROM calls WHERE started_at < $1 ORDER BY started_at DESC LIMIT 1), 0)""",
        cutoff, LATE_WRITES)


async def due_counts(conn: asyncpg.Connection, recordings_cutoff: dt.datetime | None,
                     calls_cutoff: dt.datetime | None) -> dict[str, int]:
    """What a run would remove now (the dry run's numbers)."""
    far = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    row = await conn.fetchrow(
        """WITH old_calls AS (SELECT id FROM calls WHERE $2::boolean AND started_at < $3),
                old_recordings AS (SELECT r.id, r.path FROM recordings r JOIN calls c ON c.id = r.call_id
                                   WHERE ($1::boolean AND c.started_at < $4) OR c.id IN (SELECT id FROM old_calls))
           SELECT (SELECT count(*) FROM old_recordings) AS recordings,
                  (SELECT count(*) FROM old_recordings WHERE path IS NOT NULL) AS recording_files,
                  (SELECT count(*) FROM old_calls) AS calls,
                  (SELECT count(*) FROM voicemails WHERE call_id IN (SELECT id FROM old_calls)) AS voicemails,
                  (SELECT count(*) FROM tasks WHERE call_id IN (SELECT id FROM old_calls)) AS tasks_unlinked,
                  (SELECT count(*) FROM dial_attempts WHERE call_id IN (SELECT id FROM old_calls))
                      AS dial_attempts_unlinked,
                  (SELECT count(*) FROM call_legs WHERE call_id IN (SELECT id FROM old_calls)) AS call_legs""",
        recordings_cutoff is not None, calls_cutoff is not None, calls_cutoff or far, recordings_cutoff or far)
    return dict(row)


async def begin_batch(conn: asyncpg.Connection) -> None:
    """Inside a batch's transaction: wait at most LOCK_TIMEOUT for any row or table lock."""
    await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


# ---- recordings older than their period (their calls stay) ---------------------------------------

async def recordings_batch(conn: asyncpg.Connection, cutoff: dt.datetime, bound: int, after: tuple[int, int],
                           limit: int) -> list[asyncpg.Record]:
    """The next recordings of calls older than cutoff, by (call_id, id), locked (the ones someone holds skipped)."""
    return await conn.fetch(
        """SELECT r.id, r.call_id, r.path, r.format, r.duration_seconds, c.started_at, c.direction,
                  c.caller_number, c.called_number
           FROM recordings r JOIN calls c ON c.id = r.call_id
           WHERE r.call_id >= $3 AND r.call_id <= $2 AND (r.call_id, r.id) > ($3, $4) AND c.started_at < $1
           ORDER BY r.call_id, r.id LIMIT $5 FOR UPDATE OF r SKIP LOCKED""",
        cutoff, bound, after[0], after[1], limit)


async def delete_recordings(conn: asyncpg.Connection, ids: list[int]) -> int:
    return int((await conn.execute("DELETE FROM recordings WHERE id = ANY($1::bigint[])", ids)).split()[-1])


# ---- call rows older than their period -------------------------------------------------------------

async def calls_batch(conn: asyncpg.Connection, cutoff: dt.datetime, after: int, bound: int,
                      limit: int) -> list[asyncpg.Record]:
    """The next calls older than cutoff by id, locked (the ones a live write holds skipped)."""
    return await conn.fetch(
        """SELECT id, started_at FROM calls WHERE id > $2 AND id <= $3 AND started_at < $1
           ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED""",
        cutoff, after, bound, limit)


async def calls_as_json(conn: asyncpg.Connection, ids: list[int]) -> list[asyncpg.Record]:
    """Each call as one JSON object with everything that goes with it (the archive's lines): its legs,
    transfer and supervision requests, recordings and voicemail, and the tasks and campaign attempts it
    is unlinked from."""
    return await conn.fetch(
        """SELECT c.id, c.started_at, (to_jsonb(c) || jsonb_build_object(
             'legs', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.position), '[]') FROM call_legs x
                      WHERE x.call_id = c.id),
             'transfer_requests', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]')
                                   FROM transfer_requests x WHERE x.call_id = c.id),
             'supervision_requests', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]')
                                      FROM supervision_requests x WHERE x.call_id = c.id),
             'recordings', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]') FROM recordings x
                            WHERE x.call_id = c.id),
             'voicemail', (SELECT to_jsonb(x) FROM voicemails x WHERE x.call_id = c.id),
             'task_ids', (SELECT coalesce(jsonb_agg(x.id ORDER BY x.id), '[]') FROM tasks x WHERE x.call_id = c.id),
             'dial_attempt_ids', (SELECT coalesce(jsonb_agg(x.id ORDER BY x.id), '[]') FROM dial_attempts x
                                  WHERE x.call_id = c.id)))::text AS line
           FROM calls c WHERE c.id = ANY($1::bigint[]) ORDER BY c.id""",
        ids)


async def remove_calls(conn: asyncpg.Connection, ids: list[int]) -> dict:
    """The calls gone with what refers to them (policy.DEPENDENTS): tasks and campaign attempts unlinked,
    recordings and voicemails deleted (their files returned, for after the commit), the rest by cascade."""

    def count(status: str) -> int:
        return int(status.split()[-1])

    tasks = count(await conn.execute("UPDATE tasks SET call_id = NULL WHERE call_id = ANY($1::bigint[])", ids))
    attempts = count(await conn.execute(
        "UPDATE dial_attempts SET call_id = NULL WHERE call_id = ANY($1::bigint[])", ids))
    voicemails = await conn.fetch(
        "DELETE FROM voicemails WHERE call_id = ANY($1::bigint[]) RETURNING id, call_id, path", ids)
    recordings = await conn.fetch(
        "DELETE FROM recordings WHERE call_id = ANY($1::bigint[]) RETURNING id, call_id, path", ids)
    calls = count(await conn.execute("DELETE FROM calls WHERE id = ANY($1::bigint[])", ids))
    return {"calls": calls, "tasks_unlinked": tasks, "dial_attempts_unlinked": attempts,
            "voicemails": list(voicemails), "recordings": list(recordings)}
