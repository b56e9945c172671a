"""SQL for voicemails: stored by the call path, played from the card and the task page."""

from __future__ import annotations

import asyncpg

from crm.calls.facts_sql import RULE_FACTS

# The users a voicemail `v` is given to besides the call's listeners (crm/voicemails/model.py
# can_play): its task's responsible and participants, and for an unknown caller the queue's members.
LISTENERS = """ARRAY(SELECT t.responsible_user_id FROM tasks t WHERE t.id = v.task_id AND t.deleted_at IS NULL
                     UNION SELECT p.user_id FROM task_participants p WHERE p.task_id = v.task_id
                     UNION SELECT m.user_id FROM queue_members m
                           WHERE m.queue_id = v.queue_id AND v.counterparty_id IS NULL)"""


async def insert_voicemail(conn: asyncpg.Connection, *, channel_id: str, path: str, fmt: str, seconds: float,
                           size: int, queue_id: int | None) -> int | None:
    """The new voicemail's id, on the call of this channel (None: no such call, or it has one already)."""
    return await conn.fetchval(
        """INSERT INTO voicemails (call_id, counterparty_id, number, queue_id, path, format, seconds, size_bytes)
           SELECT id, counterparty_id, caller_number, $2, $3, $4, $5, $6 FROM calls WHERE channel_id = $1
           ON CONFLICT (call_id) DO NOTHING RETURNING id""",
        channel_id, queue_id, path, fmt, seconds, size)


async def link_task(conn: asyncpg.Connection, voicemail_id: int, task_id: int) -> None:
    """The voicemail's callback task; a queue's task (a stranger's) gives its queue the message."""
    await conn.execute("""UPDATE voicemails v SET task_id = t.id, queue_id = coalesce(t.queue_id, v.queue_id)
                          FROM tasks t WHERE v.id = $1 AND t.id = $2""", voicemail_id, task_id)


# With what the call rules read of the voicemail's call (RULE_FACTS): crm/voicemails/model.can_play.
_PLAYBACK = f"""SELECT v.id, v.path, v.format, v.seconds, v.listened_at, {RULE_FACTS}, {LISTENERS} AS listeners
                FROM voicemails v JOIN calls c ON c.id = v.call_id"""


async def voicemail_for_playback(conn: asyncpg.Connection, voicemail_id: int) -> asyncpg.Record | None:
    """The file, and what the rights need: the call's people and the voicemail's listeners."""
    return await conn.fetchrow(_PLAYBACK + " WHERE v.id = $1", voicemail_id)


async def voicemail_of_call(conn: asyncpg.Connection, call_id: int) -> asyncpg.Record | None:
    """The call's voicemail, as voicemail_for_playback has it (the call's page)."""
    return await conn.fetchrow(_PLAYBACK + " WHERE v.call_id = $1", call_id)


async def mark_listened(conn: asyncpg.Connection, voicemail_id: int, user_id: int) -> None:
    """The first time someone plays it."""
    await conn.execute("UPDATE voicemails SET listened_at = now(), listened_by = $2 WHERE id = $1 "
                       "AND listened_at IS NULL", voicemail_id, user_id)


async def voicemails_of_task(conn: asyncpg.Connection, task_id: int) -> list[asyncpg.Record]:
    """The voicemails a callback task came with (its own, or of the call it was made for)."""
    return await conn.fetch(
        f"""SELECT v.id, v.number, v.seconds, v.created_at, v.listened_at, {RULE_FACTS}, {LISTENERS} AS listeners
            FROM voicemails v JOIN calls c ON c.id = v.call_id
            WHERE v.task_id = $1 OR v.call_id = (SELECT call_id FROM tasks WHERE id = $1)
            ORDER BY v.created_at""",
        task_id)


async def strangers_voicemails(conn: asyncpg.Connection, since, limit: int = 50) -> list[asyncpg.Record]:
    """Voicemails of unknown callers since then, newest first, with what can_play needs (the unknown
    callers list shows those its reader may play)."""
    return await conn.fetch(
        f"""SELECT v.id, v.number, v.seconds, v.created_at, v.listened_at, v.task_id, {RULE_FACTS},
                   {LISTENERS} AS listeners
            FROM voicemails v JOIN calls c ON c.id = v.call_id
            WHERE v.counterparty_id IS NULL AND v.created_at >= $1
            ORDER BY v.created_at DESC, v.id DESC LIMIT $2""",
        since, limit)
