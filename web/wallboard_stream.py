"""The wallboard's live push (issue 18): one LISTEN per web worker on the wallboard's and the agents'
channels, fanned out to the open wallboards (as web/pops.py does for screen pops). A NOTIFY only says
"something changed": each open wallboard then rebuilds its picture from the database with its
reader's call rules (crm/wallboard/queries.py), so nothing is kept here that a restart would lose.

The PBX nodes (issue 26) speak every few seconds, and a silent node says nothing at all: so their
channel does not wake the boards itself. While a board is open the hub reads the nodes' states on each
of their NOTIFYs and every HEARTBEAT_SECONDS, and wakes the boards only when a node's state changed
(one small query per worker, not a board's rebuild per heartbeat)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from crm.agents.queries import CHANNEL as AGENTS_CHANNEL
from crm.db import DATABASE_ERRORS
from crm.listen import listen_forever
from crm.nodes import CHANNEL as NODES_CHANNEL
from crm.nodes import HEARTBEAT_SECONDS
from crm.nodes import queries as nodes_q
from crm.wallboard import CHANNEL

log = logging.getLogger(__name__)

NODES_CHECK_SECONDS = HEARTBEAT_SECONDS


class WallboardHub:
    def __init__(self, database_url: str, pool: Callable[[], asyncpg.Pool] | None = None):
        self._url = database_url
        self._pool = pool
        self._signals: set[asyncio.Event] = set()
        self._tasks: list[asyncio.Task] = []
        self._node_word = asyncio.Event()
        self._nodes_seen: tuple | None = None  # each node's (name, state, since) at the last look
        self.last_event = 0.0  # time.monotonic() of the last NOTIFY heard

    def start(self) -> None:
        self._tasks = [asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload,
                                                          on_connected=self._on_wallboard_connected)),
                       asyncio.create_task(listen_forever(self._url, AGENTS_CHANNEL, self._on_payload,
                                                          on_connected=self._on_connected))]
        if self._pool is not None:
            self._tasks.append(asyncio.create_task(self._watch_nodes()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def subscribe(self) -> asyncio.Event:
        signal = asyncio.Event()
        self._signals.add(signal)
        return signal

    def unsubscribe(self, signal: asyncio.Event) -> None:
        self._signals.discard(signal)

    @property
    def open_boards(self) -> int:
        return len(self._signals)

    def _on_payload(self, payload: str) -> None:
        self.last_event = time.monotonic()
        for signal in self._signals:
            signal.set()

    async def _on_connected(self, _conn) -> None:
        """(Re)connected: what changed while nobody listened is read again by every open board."""
        self._on_payload("")

    async def _on_wallboard_connected(self, conn: asyncpg.Connection) -> None:
        """The nodes' words are heard on the wallboard's connection (no connection of their own)."""
        if self._pool is not None:
            await conn.add_listener(NODES_CHANNEL, lambda _c, _pid, _ch, _name: self._node_word.set())
            self._node_word.set()  # what they said while nobody listened
        await self._on_connected(conn)

    async def _watch_nodes(self) -> None:
        assert self._pool is not None
        while True:
            try:
                await asyncio.wait_for(self._node_word.wait(), NODES_CHECK_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._node_word.clear()
            if not self._signals:
                self._nodes_seen = None  # nobody watches: no reads
                continue
            try:
                async with self._pool().acquire(timeout=5) as conn:
                    nodes = await nodes_q.current(conn)
            except DATABASE_ERRORS as e:
                log.warning("PBX nodes not read for the wallboards (%s)", type(e).__name__)
                continue
            seen = tuple((n.name, n.state, n.since) for n in nodes)
            if seen != self._nodes_seen:  # the first look after the boards opened too: once, to be sure
                log.info("PBX nodes changed: %s", ", ".join(f"{n.name} {n.state}" for n in nodes) or "none")
                self._on_payload("")
            self._nodes_seen = seen
