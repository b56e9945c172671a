"""Retention tests' data: calls of a given age with recordings on disk and the rows that refer to them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


async def add_call(conn: asyncpg.Connection, channel: str, started_at: dt.datetime, recordings_dir: Path | None,
                   *, recording: bool = True) -> dict:
    """A call answered at started_at, one leg, and (recordings_dir given) its mp3 in its day folder."""
    call_id = await conn.fetchval(
        """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, answered_at, ended_at,
                              status)
           VALUES ($1, 'incoming', '+74951234567', '100', $2::timestamptz, $2::timestamptz + interval '5 s', $2::timestamptz + interval '65 s', 'answered')
           RETURNING id""", channel, started_at)
    await conn.execute("INSERT INTO call_legs (call_id, position, name, answered_at, ended_at) "
                       "VALUES ($1, 1, 'Ivanova', $2::timestamptz, $2::timestamptz + interval '1 min')", call_id, started_at)
    path = None
    if recordings_dir is not None and recording:
        path = recordings_dir / started_at.strftime("%Y/%m/%d") / f"{channel}.mp3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"ID3 audio of " + channel.encode())
        await conn.execute("INSERT INTO recordings (call_id, path, format, duration_seconds, size_bytes) "
                           "VALUES ($1, $2, 'mp3', 60, 20)", call_id, str(path))
    return {"id": call_id, "path": path, "channel": channel}


async def add_voicemail(conn: asyncpg.Connection, call_id: int, recordings_dir: Path, started_at: dt.datetime) -> Path:
    path = recordings_dir / "voicemail" / started_at.strftime("%Y/%m/%d") / f"vm-{call_id}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF message")
    await conn.execute("INSERT INTO voicemails (call_id, number, path, format, seconds) "
                       "VALUES ($1, '+74951234567', $2, 'wav', 12)", call_id, str(path))
    return path


async def add_task(conn: asyncpg.Connection, user_id: int, call_id: int) -> int:
    return await conn.fetchval(
        """INSERT INTO tasks (title, type_id, responsible_user_id, call_id)
           VALUES ('Call back', (SELECT id FROM task_types WHERE code = 'callback'), $1, $2) RETURNING id""",
        user_id, call_id)


async def add_dial_attempt(conn: asyncpg.Connection, user_id: int, call_id: int) -> int:
    campaign = await conn.fetchval("INSERT INTO dial_campaigns (name, author_id) VALUES ('Spring', $1) RETURNING id",
                                   user_id)
    number = await conn.fetchval("INSERT INTO dial_campaign_numbers (campaign_id, number) VALUES ($1, '+74951234567') "
                                 "RETURNING id", campaign)
    return await conn.fetchval("INSERT INTO dial_attempts (campaign_id, number_id, outcome, call_id) "
                               "VALUES ($1, $2, 'answered', $3) RETURNING id", campaign, number, call_id)


def months_ago(months: int, days: int = 0) -> dt.datetime:
    return NOW - dt.timedelta(days=months * 31 + days)
