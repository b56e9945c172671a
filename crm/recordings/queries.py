"""SQL for recordings and the recording policy."""

from __future__ import annotations

import json

import asyncpg

from crm import audit
from crm.calls.queries import RULE_FACTS
from crm.errors import ValidationError
from crm.recordings.policy import MODES, RecordingPolicy


async def load_policy(conn: asyncpg.Connection) -> RecordingPolicy:
    raw = await conn.fetchval("SELECT value FROM app_settings WHERE key = 'recording.policy'")
    if not raw:
        return RecordingPolicy()
    value = json.loads(raw)
    return RecordingPolicy(mode=value.get("mode", "all"), excluded_user_ids=frozenset(value.get("excluded", [])))


async def save_policy(conn: asyncpg.Connection, policy: RecordingPolicy, user_id: int | None) -> None:
    if policy.mode not in MODES:
        raise ValidationError({"mode": f"must be one of {', '.join(MODES)}"})
    async with conn.transaction():
        before = await load_policy(conn)
        await conn.execute(
            """INSERT INTO app_settings (key, value, updated_by) VALUES ('recording.policy', $1::jsonb, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $2""",
            json.dumps({"mode": policy.mode, "excluded": sorted(policy.excluded_user_ids)}), user_id)
        changes = audit.diff({"mode": before.mode, "excluded": sorted(before.excluded_user_ids)},
                             {"mode": policy.mode, "excluded": sorted(policy.excluded_user_ids)})
        if changes:
            await audit.record(conn, user_id, "settings", None, "recording policy", changes)


async def insert_recording(conn: asyncpg.Connection, *, channel_id: str, path: str | None, fmt: str,
                           duration: float | None, size: int | None, asterisk_name: str,
                           error: str | None) -> int | None:
    return await conn.fetchval(
        """INSERT INTO recordings (call_id, path, format, duration_seconds, size_bytes, asterisk_name, error)
           SELECT id, $2, $3, $4, $5, $6, $7 FROM calls WHERE channel_id = $1 RETURNING id""",
        channel_id, path, fmt, duration, size, asterisk_name, error)


async def recording_for_playback(conn: asyncpg.Connection, recording_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT r.id, r.path, r.format, """ + RULE_FACTS + """
           FROM recordings r JOIN calls c ON c.id = r.call_id
           WHERE r.id = $1 AND r.path IS NOT NULL""",
        recording_id)
