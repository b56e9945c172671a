"""`pbxcrm mail`: a poller per enabled mailbox. The mailboxes' rows are read again when the admin page
changes them (NOTIFY crm.mail.MAILBOXES_CHANNEL) and every RELOAD_SECONDS: a changed, added, disabled
or removed mailbox's poller is stopped and, if still wanted, started again with the new settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from crm.db import DATABASE_ERRORS, create_pool
from crm.listen import listen_forever
from crm.mail import MAILBOXES_CHANNEL
from crm.mail.inbound import queries as q
from crm.settings import Settings
from maild.poller import MailboxPoller

log = logging.getLogger(__name__)

RELOAD_SECONDS = 30.0
RETRY_SECONDS = 2.0  # after the mailboxes could not be read
STOP_WAIT_SECONDS = 5.0


class _Running:
    def __init__(self, fingerprint: tuple, poller: MailboxPoller, stop: asyncio.Event):
        self.fingerprint, self.poller, self.stop = fingerprint, poller, stop
        self.task = asyncio.create_task(poller.run(), name=f"mailbox-{poller.mailbox_id}")


def _fingerprint(row: asyncpg.Record) -> tuple:
    return tuple(row[k] if k != "folders" else tuple(row[k]) for k in
                 ("name", "address", "imap_host", "imap_port", "imap_security", "imap_user", "imap_password",
                  "folders"))


class Service:
    def __init__(self, settings: Settings, pool: asyncpg.Pool):
        self.settings, self.pool = settings, pool
        self.running: dict[int, _Running] = {}
        self.reload = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("mail poller starting")
        listener = asyncio.create_task(listen_forever(self.settings.database_url, MAILBOXES_CHANNEL,
                                                      lambda _p: self.reload.set()))
        try:
            while not stop.is_set():
                self.reload.clear()
                loaded = await self._reload()
                waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self.reload.wait())]
                await asyncio.wait(waits, timeout=RELOAD_SECONDS if loaded else RETRY_SECONDS,
                                   return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
        finally:
            listener.cancel()
            await self._stop(list(self.running))
            log.info("mail poller stopped")

    async def _reload(self) -> bool:
        try:
            async with self.pool.acquire() as conn:
                rows = await q.enabled_mailboxes(conn)
        except DATABASE_ERRORS as e:
            log.warning("mail: mailboxes not read, database unavailable (%s)", type(e).__name__)
            return False
        wanted = {r["id"]: r for r in rows}
        changed = [i for i, run in self.running.items()
                   if i not in wanted or run.fingerprint != _fingerprint(wanted[i]) or run.task.done()]
        await self._stop(changed)
        for mailbox_id, row in wanted.items():
            if mailbox_id not in self.running:
                stop = asyncio.Event()
                self.running[mailbox_id] = _Running(_fingerprint(row), MailboxPoller(self.settings, self.pool,
                                                                                       row, stop), stop)
                log.info("mail: mailbox %d (%s) started", mailbox_id, row["address"])
        return True

    async def _stop(self, ids: list[int]) -> None:
        stopping = [self.running.pop(i) for i in ids]
        for run in stopping:
            run.stop.set()
        tasks = [run.task for run in stopping]
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_SECONDS)
        for run in stopping:
            if run.task in pending:
                run.poller.conn.abort()
                run.task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("mail: a poller failed: %r", task.exception())


async def run(settings: Settings, stop: asyncio.Event) -> None:
    pool = await create_pool(settings.database_url, min_size=0, max_size=10, command_timeout=60)
    try:
        await Service(settings, pool).run(stop)
    finally:
        try:
            await asyncio.wait_for(pool.close(), 3)
        except asyncio.TimeoutError:
            pool.terminate()
