"""The live wallboard (issue 18): who waits in each queue, what each agent does, today's numbers.

The call log's writes that change what a wallboard shows (a caller starts waiting in a queue,
phones ring, a call is answered or ends, a leg starts or ends) NOTIFY CHANNEL, and agent presence
NOTIFYs crm.agents.queries.CHANNEL; the web (web/wallboard_stream.py) LISTENs to both and sends
the open wallboards a fresh picture, built from the database (crm/wallboard/queries.py).
"""

from __future__ import annotations

import json

import asyncpg

CHANNEL = "pbxcrm_wallboard"


async def notify(conn: asyncpg.Connection, what: str, channel_id: str) -> None:
    """Tell the wallboards that the call of this caller channel changed (`what`: queued, ringing,
    answered, left_queue, ended, leg...). Sent when the write's transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"what": what, "channel_id": channel_id}))
