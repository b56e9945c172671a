"""What this node's app shares with the other nodes' apps (issue 26), through PostgreSQL.

Phones: each node's Asterisk knows only its own phones' device states. So each app writes its own
phones (the endpoints its Asterisk lists, then every DeviceStateChanged) into phone_presence, and
every hold its calls take on a phone, wherever the phone lives, and reads the others' from NOTIFYs:
a phone busy for a call on node A is busy for node B, and a phone of node B is rung from node A
through the inter-node trunk (`PJSIP/7201@node-b`, dialplan/pbxcrm.conf [pbxcrm-from-node]).

Round robin: a queue's turn, taken by any node, is the next one's start on every node.

The writes go out in order from one task, off the call path: a caller is never held for them. What
another node learns a few milliseconds late is what the phone's own answer (busy) settles anyway;
the ringer then tries the next target.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from functools import partial

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.dialing.technology import DEFAULT_TECHNOLOGY, device_of, dials
from crm.listen import listen_forever
from crm.nodes import shared as shared_q

log = logging.getLogger(__name__)

# An inter-node trunk's endpoint on every node is named after the node it leads to.
TRUNK_PREFIX = "node-"
# Writes waiting while the database is away: past this many the oldest go (the next reload rewrites them).
BACKLOG = 10_000


def trunk_to(node: str) -> str:
    return f"{TRUNK_PREFIX}{node}"


class SharedState:
    def __init__(self, pool: asyncpg.Pool, database_url: str, node: str):
        self.node = node
        self._pool = pool
        self._database_url = database_url
        self._local: set[str] = set()  # devices of this node's Asterisk
        self._remote: dict[str, tuple[str, str]] = {}  # device -> (its node, its last state)
        self._held_by: dict[str, str] = {}  # device -> the other node whose call holds it
        self._writes: asyncio.Queue[Callable[[asyncpg.Connection], Awaitable[None]]] = asyncio.Queue()
        self._on_freed: list[Callable[[], None]] = []
        self._reloads: set[asyncio.Task] = set()  # reads again under way, held so none is collected mid-way
        self.turns = SharedTurns(self._write_turn)

    def on_freed(self, wake: Callable[[], None]) -> None:
        """Call `wake` when another node's phone (or hold) may have freed a phone."""
        self._on_freed.append(wake)

    # What the routing asks, with no await: answered from memory.

    def is_remote(self, device: str) -> bool:
        return device not in self._local and device in self._remote

    def remote_state(self, device: str) -> str | None:
        """Another node's phone's last state as its node told it, None for this node's or unknown."""
        if device in self._local:
            return None
        known = self._remote.get(device)
        return known[1] if known else None

    def held_elsewhere(self, device: str) -> bool:
        return device in self._held_by

    def route(self, dial: str) -> str:
        """A dial string with each phone of another node rung through that node's trunk:
        PJSIP/7201 -> PJSIP/7201@node-b. This node's phones, and what has no device, are as they were."""
        parts = []
        for part in dials(dial):
            device = device_of(part)
            name = f"{device[0]}/{device[1]}" if device else ""
            if device and device[0] == DEFAULT_TECHNOLOGY and self.is_remote(name):
                part = f"{part.removesuffix('/n')}@{trunk_to(self._remote[name][0])}"
            parts.append(part)
        return "&".join(parts)

    # What this node's Asterisk and calls say: written in the background.

    def listed(self, states: dict[str, str]) -> None:
        """This node's Asterisk's endpoints after a (re)connect, with their states."""
        self._local = set(states)
        for device in states:
            self._remote.pop(device, None)
        self._write(lambda conn: shared_q.replace_phones(conn, self.node, dict(states)))

    def state_changed(self, device: str, state: str) -> None:
        if device not in self._local and device in self._remote:
            return  # the other node's phone seen through our trunk's channel: its node says its state
        self._local.add(device)
        self._write(lambda conn: shared_q.set_state(conn, self.node, device, state))

    def held(self, devices: Iterable[str], held: bool) -> None:
        for device in devices:
            self._write(partial(shared_q.set_held, node=self.node, device=device, held=held))

    def _write_turn(self, queue_key: int, turn: int) -> None:
        self._write(lambda conn: shared_q.set_turn(conn, self.node, queue_key, turn))

    def _write(self, write: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        if self._writes.qsize() >= BACKLOG:
            self._writes.get_nowait()
        self._writes.put_nowait(write)

    async def run(self) -> None:
        """Read what the other nodes share (and again after every reconnect of the LISTEN), write ours."""
        writer = asyncio.create_task(self._write_forever(), name="node shared writes")
        try:
            await listen_forever(self._database_url, shared_q.SHARED_CHANNEL, self._heard,
                                 on_connected=self._load)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _write_forever(self) -> None:
        # What this node held before it (re)started was its calls', gone with them.
        await self._write_now(lambda conn: shared_q.release_all(conn, self.node))
        while True:
            await self._write_now(await self._writes.get())

    async def _write_now(self, write: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await write(conn)
                return
            except DATABASE_ERRORS as e:
                log.warning("node %s: shared state not written (%s); again in 1 s", self.node, type(e).__name__)
                await asyncio.sleep(1)

    async def _load(self, conn: asyncpg.Connection) -> None:
        rows = await shared_q.phones(conn)
        self._remote = {r["device"]: (r["node"], r["state"]) for r in rows if r["node"] != self.node}
        self._held_by = {r["device"]: r["held_by"] for r in rows if r["held_by"] not in (None, self.node)}
        for key, turn in (await shared_q.turns(conn)).items():
            self.turns.learn(key, turn)
        self._freed()

    def _heard(self, payload: str) -> None:
        try:
            said = json.loads(payload)
        except ValueError:
            log.warning("node shared state: not JSON: %r", payload[:200])
            return
        node = said.get("node")
        if node == self.node:
            return
        if said.get("phones") == "reload":
            task = asyncio.get_running_loop().create_task(self._reload(), name="node shared reload")
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)
        elif "turn" in said:
            self.turns.learn(int(said["queue"]), int(said["turn"]))
        elif "held" in said:
            device = said["device"]
            if said["held"]:
                self._held_by[device] = node
            elif self._held_by.get(device) == node:
                del self._held_by[device]
                self._freed()
        elif "state" in said and said["device"] not in self._local:
            self._remote[said["device"]] = (node, said["state"])
            self._freed()

    async def _reload(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await self._load(conn)
        except DATABASE_ERRORS as e:
            log.warning("node %s: shared phones not read again (%s)", self.node, type(e).__name__)

    def _freed(self) -> None:
        for wake in self._on_freed:
            wake()


class SharedTurns(dict):
    """The round robin queues' turns (ari_app/inbound/queue_members.py sets them as a dict): each turn
    taken here is written for the other nodes; theirs are learnt, never taking a turn back."""

    def __init__(self, publish: Callable[[int, int], None]):
        super().__init__()
        self._publish = publish

    def __setitem__(self, key: int, value: int) -> None:
        super().__setitem__(key, value)
        self._publish(key, value)

    def learn(self, key: int, value: int) -> None:
        if value > self.get(key, 0):
            super().__setitem__(key, value)
