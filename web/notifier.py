"""Delivers queued notifications: to browsers (through the pops channel) and by e-mail.

Every web worker starts one; the one holding the advisory lock does the work,
so with several workers nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

import asyncpg

from crm import notifications
from crm.db import DATABASE_ERRORS
from crm.scheduled_calls import runner as scheduled_calls
from crm.settings import Settings
from crm.users import queries as users_q
from web.background import BackgroundLoop

log = logging.getLogger(__name__)

def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    send_message(settings, message)


def send_message(settings: Settings, message: EmailMessage) -> None:
    """One message through the smtp_* server (blocking: run it in a thread). Raises OSError or SMTPException;
    a server that takes some recipients and refuses others counts as refused (SMTPRecipientsRefused)."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        refused = smtp.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


class Notifier(BackgroundLoop):
    name = "notifier"

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    async def _run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.settings.database_url, timeout=5)
            except DATABASE_ERRORS:
                await asyncio.sleep(self.settings.notify_interval_seconds)
                continue
            try:
                while not await notifications.take_delivery_lock(conn):
                    await asyncio.sleep(self.settings.notify_interval_seconds * 4)
                while True:
                    await self.tick(conn)
                    await asyncio.sleep(self.settings.notify_interval_seconds)
            except DATABASE_ERRORS as e:
                log.warning("notifier: database connection lost (%s)", type(e).__name__)
            finally:
                await conn.close()

    async def _scheduled_calls(self, conn: asyncpg.Connection) -> None:
        """Scheduled calls (issue 22): the due ones remind (delivered just below) or dial; the dialled settle.
        A fault here is logged and tried next tick: it never stops the notifications."""
        try:
            await scheduled_calls.run_due(conn, self.settings.clock.now(), region=self.settings.default_region,
                                          centre_zone=self.settings.clock.timezone)
            await scheduled_calls.settle(conn)
        except DATABASE_ERRORS:
            raise
        except Exception:
            log.exception("notifier: scheduled calls not run this time")

    async def tick(self, conn: asyncpg.Connection) -> None:
        # Housekeeping rides on the one notifier that holds the lock: expired logins go.
        ended = await users_q.delete_expired_sessions(conn)
        if ended:
            log.info("notifier: %d expired web sessions deleted", ended)
        await notifications.queue_due_tasks(conn, self.settings.clock.now(), self.settings.clock.timezone)
        await self._scheduled_calls(conn)
        await notifications.to_browsers(conn)
        for n in await notifications.unsent_emails(conn):
            if not self.settings.smtp_host:
                error = "e-mail is off (PBXCRM_SMTP_HOST is not set)"
            elif not n["email"]:
                error = f"{n['full_name']} has no e-mail address"
            else:
                body = f"{n['body']}\n\n{self.settings.public_url}{n['url']}\n"
                try:
                    await asyncio.to_thread(send_mail, self.settings, n["email"], n["title"], body)
                    error = None
                except (OSError, smtplib.SMTPException) as e:
                    log.warning("notification %d: e-mail to %s failed: %s", n["id"], n["email"], e)
                    continue  # tried again next time
            await notifications.mark_email(conn, n["id"], error)
