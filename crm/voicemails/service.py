"""What the call path hands to the CRM when a caller nobody took asks to be called back or
leaves a voicemail (issue 15): the call's status says so, and a callback task is made for the
client's manager, or for a stranger the queue's (crm/tasks/callbacks.py create_for_request)."""

from __future__ import annotations

import asyncpg

from crm.calls import queries as calls_q
from crm.defaults import DEFAULT_REGION
from crm.tasks import callbacks
from crm.voicemails import queries as voicemails_q


async def callback_requested(conn: asyncpg.Connection, *, channel_id: str, timezone: str, queue_id: int | None,
                             region: str = DEFAULT_REGION) -> int | None:
    """The call is a callback request; the task's id (None: nobody to give it to)."""
    async with conn.transaction():
        await calls_q.mark_caller_left(conn, channel_id, "callback")
        return await callbacks.create_for_request(conn, channel_id, timezone, reason="callback_requested",
                                                  queue_id=queue_id, region=region)


async def voicemail_kept(conn: asyncpg.Connection, *, channel_id: str, path: str, fmt: str, seconds: float,
                         size: int, queue_id: int | None, timezone: str, region: str = DEFAULT_REGION) -> int | None:
    """The caller's message stored with its call and a callback task; the voicemail's id. `queue_id`:
    the queue whose wait passed (None: a line's voicemail route); a stranger's message is given to
    the queue that holds its task."""
    async with conn.transaction():
        voicemail_id = await voicemails_q.insert_voicemail(conn, channel_id=channel_id, path=path, fmt=fmt,
                                                           seconds=seconds, size=size, queue_id=queue_id)
        if voicemail_id is None:
            return None
        await calls_q.mark_caller_left(conn, channel_id, "voicemail")
        task_id = await callbacks.create_for_request(conn, channel_id, timezone, reason="voicemail",
                                                     queue_id=queue_id, region=region)
        if task_id is not None:
            await voicemails_q.link_task(conn, voicemail_id, task_id)
    return voicemail_id
