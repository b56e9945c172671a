"""A node's word, every few seconds: its app lives, its Asterisk answers (or not), its calls now.

The web shows a node down when its word says so, or silent when no word came for a while
(crm/nodes/). Asked of Asterisk itself (GET /asterisk/ping), not of the event websocket: a standby
of the node, which has none, says the same; and a node whose Asterisk stopped says so within
HEARTBEAT_SECONDS while its app tries to reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from ari_app.client import AriClient, AriError
from crm.db import DATABASE_ERRORS
from crm.nodes import HEARTBEAT_SECONDS
from crm.nodes import queries as nodes_q

log = logging.getLogger(__name__)

PING_SECONDS = 2.0


async def asterisk_answers(ari: AriClient) -> bool:
    try:
        await asyncio.wait_for(ari.request("GET", "/asterisk/ping"), PING_SECONDS)
        return True
    except (AriError, asyncio.TimeoutError):
        return False


async def keep_saying(pool: asyncpg.Pool, ari: AriClient, node: str, calls_now: Callable[[], int],
                      every: float | None = None) -> None:
    was: bool | None = None
    while True:
        connected = await asterisk_answers(ari)
        if connected != was:
            log.log(logging.INFO if connected else logging.WARNING, "node %s: Asterisk at %s %s", node,
                    ari.base_url, "answers" if connected else "does not answer")
            was = connected
        try:
            async with pool.acquire() as conn:
                await nodes_q.say(conn, node, ari.base_url, connected, calls_now())
        except DATABASE_ERRORS as e:
            log.warning("node %s: word not written (%s)", node, type(e).__name__)
        await asyncio.sleep(every or HEARTBEAT_SECONDS)
