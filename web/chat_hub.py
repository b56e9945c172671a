"""The web chat's live push (issue 23): one LISTEN per web worker on crm.webchat.service.CHANNEL, fanned
out to this worker's open connections - the visitors' websockets and the operators' event streams - by
conversation, and to the operators' lobby streams (invitations: "new", and "accepted"/"closed"/"offline"
that end one). Any worker serves any visitor or operator: every worker hears every NOTIFY.

A subscriber's queue gets the event dicts as NOTIFYed ({"c": id, "e": ...}); after the LISTEN
(re)connects every queue gets {"e": "resync"}, since a NOTIFY may have been missed: the subscriber reads
its state again."""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg

from crm.listen import listen_forever
from crm.webchat.service import CHANNEL

log = logging.getLogger(__name__)

LOBBY = 0  # the key of the operators' invitation streams
_LOBBY_EVENTS = frozenset({"new", "accepted", "closed", "offline"})


class ChatHub:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._queues: dict[int, set[asyncio.Queue]] = {}
        self._task: asyncio.Task | None = None
        self.listening = False  # the LISTEN has been up at least once (tests wait for it)

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload,
                                                        on_connected=self._resync))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def subscribe(self, key: int, queue: asyncio.Queue) -> None:
        """key: a conversation's id, or LOBBY."""
        self._queues.setdefault(key, set()).add(queue)

    def unsubscribe(self, key: int, queue: asyncio.Queue) -> None:
        queues = self._queues.get(key, set())
        queues.discard(queue)
        if not queues:
            self._queues.pop(key, None)

    def _put(self, key: int, event: dict) -> None:
        for queue in self._queues.get(key, ()):
            if queue.full():
                log.warning("chat subscriber of %s too slow: event %s dropped", key, event.get("e"))
                continue
            queue.put_nowait(event)

    def _on_payload(self, payload: str) -> None:
        try:
            event = json.loads(payload)
            conversation_id = int(event["c"])
        except (ValueError, TypeError, KeyError) as e:
            log.warning("malformed chat event %r: %s", payload[:200], e)
            return
        self._put(conversation_id, event)
        if event.get("e") in _LOBBY_EVENTS:
            self._put(LOBBY, event)

    async def _resync(self, _conn: asyncpg.Connection | None) -> None:
        self.listening = True
        for key in list(self._queues):
            self._put(key, {"c": key, "e": "resync"})
