"""Sends the e-mail written on cards (issue 23, crm/mail/replies.py) through the smtp_* server.

Every web worker starts one; the one holding the advisory lock sends (crm/mail/outbox.py), so with several
workers each message leaves once. stdlib smtplib in a thread, as the notifier's e-mail (web/notifier.py):
no new dependency, one message at a time is all a call centre's replies need, and the event loop stays free.
It wakes on the 'mail_status' channel (a reply queued) and when the next retry is due.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.mail import outbox, replies
from crm.settings import Settings
from web.background import BackgroundLoop
from web.notifier import send_message

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0


class MailOff(Exception):
    """No SMTP server is set: the message waits (retried) and says so."""


def smtp_error(e: BaseException) -> str:
    """The reason shown on the message: the server's own words where it gave some."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{to}: {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
                         for to, (code, reply) in e.recipients.items())
    if isinstance(e, smtplib.SMTPResponseException):
        error = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return f"{e.smtp_code} {error}"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


class MailSender(BackgroundLoop):
    name = "mail sender"

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings
        self._wake = asyncio.Event()

    async def _run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.settings.database_url, timeout=5)
            except DATABASE_ERRORS:
                await asyncio.sleep(POLL_SECONDS)
                continue
            try:
                while not await outbox.take_lock(conn):
                    await asyncio.sleep(POLL_SECONDS * 2)
                await conn.add_listener(outbox.CHANNEL, lambda *_: self._wake.set())
                while True:
                    self._wake.clear()
                    await self.tick(conn)
                    wait = await conn.fetchval(
                        "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM mail_messages "
                        "WHERE status IN ('queued', 'sending') AND direction = 'out'")
                    timeout = POLL_SECONDS if wait is None else min(POLL_SECONDS, max(0.05, float(wait)))
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout)
                    except TimeoutError:
                        pass
            except DATABASE_ERRORS as e:
                log.warning("mail sender: database connection lost (%s)", type(e).__name__)
            finally:
                await conn.close()

    async def tick(self, conn: asyncpg.Connection) -> None:
        for row in await outbox.claim(conn):
            try:
                if not self.settings.smtp_host:
                    raise MailOff("e-mail is off (PBXCRM_SMTP_HOST is not set)")
                await asyncio.to_thread(send_message, self.settings, replies.build(row))
            except (OSError, smtplib.SMTPException, ValueError, MailOff) as e:
                error = str(e) if isinstance(e, MailOff) else smtp_error(e)
                status = await outbox.mark_failed(conn, row["id"], row["attempts"], error,
                                                  self.settings.mail_max_attempts,
                                                  self.settings.mail_retry_base_seconds)
                log.warning("e-mail %d to %s: attempt %d failed (%s), now %s", row["id"], row["to_addresses"],
                            row["attempts"], error, status)
                continue
            await outbox.mark_sent(conn, row["id"])
            log.info("e-mail %d sent to %s", row["id"], row["to_addresses"])
