"""One active `pbxcrm ari` per Stasis app name; any other waits as a hot standby.

Asterisk gives an app's events to the websocket that registered the name last
(the one before gets ApplicationReplaced), so two processes with one name would
take the name from each other at every reconnect. Who may register is decided by
PostgreSQL: a session advisory lock keyed by the app name, held on a connection
of its own. A standby has its routing data warm and asks for the lock every
`poll` seconds; a killed active process's connection closes, the server frees
the lock at once, and the standby registers and resyncs (ari_app/resync/).

A lost lock connection means the lock is lost (the server frees it once it
notices), but not that another process holds it: the database may be down for
everybody. The active process then keeps the name and its calls (routing from
its cache, logging later, as it does with the database down), asks for the lock
again, and steps down at the first sign of another: the lock held elsewhere, or
Asterisk's ApplicationReplaced. A process starting while the database cannot be
asked takes the name too, rather than leave callers to the dialplan, and yields
the same way. The server is told to drop our lock connection within about 11 s
of silence (TCP keepalives), so a process whose link to it died silently is
replaced by a standby that can still reach it.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from enum import Enum

import asyncpg

from ari_app.cancelling import cancel_until_done
from crm.db import DATABASE_ERRORS

log = logging.getLogger(__name__)

# asyncio's TimeoutError is OSError's TimeoutError since 3.11: DATABASE_ERRORS has it; said for clarity.
_NOT_ANSWERED: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, asyncio.TimeoutError)

# pg_try_advisory_lock(class, object): this class is ours ("PBXC"), the object the app name's CRC.
LOCK_CLASS = 0x50425843
# What an active process does before its event socket closes (take_turns' `leaving`) may take this long.
LEAVING_SECONDS = 2.0


def lock_key(app: str) -> tuple[int, int]:
    crc = zlib.crc32(app.encode())
    return LOCK_CLASS, crc - (1 << 32) if crc >= 1 << 31 else crc


class Claim(Enum):
    HELD = "held"
    TAKEN = "taken by another process"
    NO_DATABASE = "no database to ask"


_HOLDER = """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid
              AND objid = $2::int::oid AND objsubid = 2 AND granted"""


class StasisLock:
    def __init__(self, database_url: str, app: str, *, timeout: float = 2.0):
        self._url = database_url
        self.app = app
        self._key = lock_key(app)
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        # Our server session that held the lock before its connection was lost: the server may not
        # know yet that it is gone, and then it still holds the lock, for nobody.
        self._lost_pid: int | None = None

    async def claim(self) -> Claim:
        """One try: the lock is ours (again), another process's, or there is nobody to ask."""
        try:
            if self._conn is None:
                self._conn = await asyncpg.connect(self._url, timeout=self._timeout, server_settings={
                    "application_name": f"pbxcrm ari {self.app}"[:63],
                    # A peer gone silent is dropped, and the lock freed, after 5 + 3 x 2 s.
                    "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"})
            held = await self._try_lock()
            if not held and self._lost_pid is not None:
                holder = await self._conn.fetchval(_HOLDER, *self._key, timeout=self._timeout)
                if holder == self._lost_pid:
                    log.info("Stasis app %r: our old database session %d still holds the lock; ending it",
                             self.app, holder)
                    await self._conn.fetchval("SELECT pg_terminate_backend($1, 2000)", holder,
                                              timeout=self._timeout + 2)
                    held = await self._try_lock()
        except _NOT_ANSWERED as e:
            log.debug("Stasis app %r: lock not asked (%s)", self.app, type(e).__name__)
            self._drop()
            return Claim.NO_DATABASE
        if held:
            self._lost_pid = None
            return Claim.HELD
        return Claim.TAKEN

    async def _try_lock(self) -> bool:
        assert self._conn is not None
        # Re-entrant on its session: asking again while holding it keeps it held.
        return bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *self._key,
                                              timeout=self._timeout))

    async def wait_turn(self, stop: asyncio.Event, *, poll: float = 0.5, at_start: bool = False) -> Claim | None:
        """Until this process may be the active one: HELD, or NO_DATABASE at start. None: stopped first."""
        told = None
        while not stop.is_set():
            claim = await self.claim()
            if claim is Claim.HELD or (claim is Claim.NO_DATABASE and at_start):
                return claim
            if claim is not told:
                told = claim
                log.info("Stasis app %r: standing by (%s)", self.app, claim.value)
            await _sleep_unless(stop, poll)
        return None

    async def watch(self, *, every: float = 1.0) -> None:
        """While active: returns when another process holds the lock (see the module's words)."""
        while True:
            await asyncio.sleep(every)
            if self._conn is not None:
                try:
                    await self._conn.fetchval("SELECT 1", timeout=self._timeout)
                    continue
                except _NOT_ANSWERED as e:
                    log.warning("Stasis app %r: the lock's database connection is lost (%s); staying active "
                                "until another process holds the lock", self.app, type(e).__name__)
                    self._drop()
            claim = await self.claim()
            if claim is Claim.TAKEN:
                return
            if claim is Claim.HELD:
                log.info("Stasis app %r: the lock is held again", self.app)

    def _drop(self) -> None:
        if self._conn is not None:
            self._lost_pid = self._lost_pid or self._conn.get_server_pid()
            self._conn.terminate()  # no goodbye: the server may not answer one
            self._conn = None

    def release(self) -> None:
        """Closing the session frees the lock: a standby takes it within its poll."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
        self._lost_pid = None


async def take_turns(lock: StasisLock, stop: asyncio.Event, activate: Callable[[], list[asyncio.Task]],
                     step_down: Callable[[], Awaitable[None]],
                     leaving: Callable[[], Awaitable[None]] | None = None) -> None:
    """Active while this process may be (`activate` starts what an active process runs), standby
    otherwise; until `stop`. The tasks ending (Asterisk gave the name to another) is a step down.
    `leaving` runs, for at most LEAVING_SECONDS, while the active tasks (the event socket) still run."""
    at_start = True
    while not stop.is_set():
        claim = await lock.wait_turn(stop, at_start=at_start)
        if claim is None:
            return
        at_start = False
        log.info("Stasis app %r: active (%s)", lock.app,
                 "lock held" if claim is Claim.HELD else "no database to ask; yields to a holder of the lock")
        active = activate()
        watch = asyncio.create_task(lock.watch(), name="stasis lock")
        stopped = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([watch, stopped, *active], return_when=asyncio.FIRST_COMPLETED)
        if leaving is not None and not any(t in done for t in active):
            await _leave(lock.app, leaving)
        # Every one ends before the next turn: cancelled again if it swallowed a cancel (ari_app/cancelling.py).
        await cancel_until_done([watch, stopped, *active])
        if stop.is_set():
            return
        failed = [t for t in done if t in active and not t.cancelled() and t.exception() is not None]
        for task in failed:
            log.error("Stasis app %r: %s failed; starting again", lock.app, task.get_name(), exc_info=task.exception())
        if not failed:
            log.warning("Stasis app %r: another process is active (%s); standing by", lock.app,
                        "it holds the lock" if watch in done else "Asterisk gave it the app")
        await step_down()
        lock.release()


async def _leave(app: str, leaving: Callable[[], Awaitable[None]]) -> None:
    try:
        await asyncio.wait_for(leaving(), LEAVING_SECONDS)
    except Exception as e:  # leaving is a courtesy to Asterisk: the stop goes on whatever it says
        log.warning("Stasis app %r: leaving did not finish (%s: %s)", app, type(e).__name__, e)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass
