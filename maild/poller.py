"""One mailbox read for ever: each folder from its cursor, new mail awaited with IDLE (or every
`mail_poll_seconds` where the server has none), a dropped connection reconnected with backoff.

A message is filed in its own transaction with its folder's cursor (crm.mail.inbound.filing), so a
SIGKILL anywhere files nothing twice and loses nothing. A message the database refuses is tried again
reduced to its headers, then passed (logged with its UID and the reason): never read for ever. While the
database is unavailable nothing is passed: the mailbox waits and reads again from its cursor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

import asyncpg
from imapclient.exceptions import IMAPClientError

from crm.db import DATABASE_UNAVAILABLE
from crm.mail.inbound import queries as q
from crm.mail.inbound import rules
from crm.mail.inbound.filing import REFUSED, Where, file_message, pass_message
from crm.settings import Settings
from maild.imap import ImapConnection

log = logging.getLogger(__name__)

BATCH_BYTES = 32 * 1024 * 1024  # fetched at once, about (a bigger message comes alone)
BATCH_COUNT = 20
IDLE_STEP_SECONDS = 1.0  # how often an IDLE wait looks at the stop event
IMAP_ERRORS: tuple[type[BaseException], ...] = (IMAPClientError, OSError, socket.timeout, EOFError, ConnectionError)


class MailboxPoller:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, row: asyncpg.Record, stop: asyncio.Event):
        self.settings, self.pool, self.stop = settings, pool, stop
        self.mailbox_id: int = row["id"]
        self.address: str = row["address"]
        self.folders: list[str] = list(row["folders"])
        self.conn = ImapConnection(row["imap_host"], row["imap_port"], row["imap_security"], row["imap_user"],
                                   row["imap_password"])
        self.label = f"mailbox {self.mailbox_id} ({row['name']})"
        # A message passed without being stored, said on the admin page (last_error) for as long as this
        # poller runs (an edit of the mailbox or a restart clears it); the log has every one.
        self.passed = ""

    async def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                await asyncio.to_thread(self.conn.open)
                log.info("%s: connected to %s:%d", self.label, self.conn.host, self.conn.port)
                while not self.stop.is_set():
                    await self._read_all()
                    failures = 0
                    await self._record(self.passed)
                    await self._wait_for_news()
            except IMAP_ERRORS as e:
                reason = f"IMAP {self.conn.host}:{self.conn.port}: {type(e).__name__}: {e}"
            except DATABASE_UNAVAILABLE as e:
                reason = f"database unavailable ({type(e).__name__})"
            except Exception as e:  # a bug or an answer nobody foresaw: said, and the mailbox goes on
                log.exception("%s: failed", self.label)
                reason = f"{type(e).__name__}: {e}"[:500]
            finally:
                self.conn.abort()
                await asyncio.to_thread(self.conn.close)
            if self.stop.is_set():
                break
            failures += 1
            delay = rules.reconnect_delay(failures)
            log.warning("%s: %s; reconnecting in %.0f s", self.label, reason, delay)
            await self._record(reason)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
        log.info("%s: stopped", self.label)

    async def _record(self, error: str) -> None:
        try:
            async with self.pool.acquire() as conn:
                await q.mailbox_polled(conn, self.mailbox_id, error)
        except DATABASE_UNAVAILABLE:
            pass

    async def _read_all(self) -> None:
        for folder in self.folders:
            if self.stop.is_set():
                return
            await self._read_folder(folder)

    async def _read_folder(self, folder: str) -> None:
        uidvalidity = await asyncio.to_thread(self.conn.select, folder)
        async with self.pool.acquire() as conn:
            stored = await q.cursor(conn, self.mailbox_id, folder)
            after = rules.start_after(stored, uidvalidity)
            if stored is None or stored[0] != uidvalidity:
                if stored is not None:
                    log.warning("%s %s: UIDVALIDITY %d -> %d: the folder is read again from the start",
                                self.label, folder, stored[0], uidvalidity)
                await q.move_cursor(conn, self.mailbox_id, folder, uidvalidity, 0)
        sizes = await asyncio.to_thread(self.conn.sizes_after, after)
        if not sizes:
            return
        where = Where(self.mailbox_id, self.address, folder, uidvalidity)
        started, filed = time.monotonic(), 0
        for batch in rules.batches(sizes, BATCH_BYTES, BATCH_COUNT):
            if self.stop.is_set():
                return
            raws = await asyncio.to_thread(self.conn.fetch, batch)
            for uid in batch:
                raw = raws.get(uid)
                if raw is None:
                    log.warning("%s %s: UID %d gone before it was read (expunged)", self.label, folder, uid)
                    async with self.pool.acquire() as conn:
                        await q.move_cursor(conn, self.mailbox_id, folder, uidvalidity, uid)
                    continue
                await self._file(where, uid, raw)
                filed += 1
        log.info("%s %s: %d message(s) read in %.2f s", self.label, folder, filed, time.monotonic() - started)

    async def _file(self, where: Where, uid: int, raw: bytes) -> None:
        reason = ""
        attempt = 0
        while True:
            attempt += 1
            plan = rules.store_plan(attempt)
            try:
                async with self.pool.acquire() as conn:
                    if plan == "skip":
                        log.error("%s %s: UID %d not stored after %d tries, passed: %s", self.label, where.folder,
                                  uid, attempt - 1, reason)
                        await pass_message(conn, where, uid, reason)
                        self.passed = f"{where.folder} UID {uid} not stored: {reason}"
                        return
                    result = await file_message(conn, where, uid, raw, plan=plan, reason=reason,
                                                max_attachment_bytes=self.settings.mail_max_attachment_bytes)
                if result.status == "duplicate":
                    # The Message-ID of a message filed already (a recreated folder, the same message in two
                    # folders; or a sender reusing one): said, so a message not filed is never silent.
                    log.warning("%s %s: UID %d not filed again: its Message-ID is filed already", self.label,
                                where.folder, uid)
                else:
                    log.debug("%s %s: UID %d %s %s", self.label, where.folder, uid, result.status, result.cards)
                return
            except REFUSED as e:  # this message's data (asyncpg's own DataError too: it is a ValueError)
                reason = f"{type(e).__name__}: {e}"[:500]
                log.warning("%s %s: UID %d refused (%s), try %d", self.label, where.folder, uid, reason, attempt)
            # Anything else (the database unavailable, a bug in our SQL) is not the message's fault: it goes up,
            # and the mailbox reads again from the cursor after a wait.

    async def _wait_for_news(self) -> None:
        """Until the server announces a change (IDLE) or `mail_poll_seconds` pass, or the stop."""
        deadline = time.monotonic() + self.settings.mail_poll_seconds
        if not self.conn.has_idle:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.settings.mail_poll_seconds)
            return
        if await asyncio.to_thread(self.conn.news):
            return  # mail came while the folders were read: read them again at once
        if len(self.folders) > 1:
            await asyncio.to_thread(self.conn.select, self.folders[0])
        await asyncio.to_thread(self.conn.idle_start)
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                if await asyncio.to_thread(self.conn.idle_check, IDLE_STEP_SECONDS):
                    break
        finally:
            if not self.stop.is_set():
                await asyncio.to_thread(self.conn.idle_done)
