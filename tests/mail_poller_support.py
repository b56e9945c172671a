"""The e-mail tests' world (issue 23): a private Dovecot with the CRM's mailbox, cards with e-mail
addresses, messages made as mail clients write them, and `pbxcrm mail` as its own process."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import asyncpg

from tests.dovecot import Dovecot
from tests.processes import PbxcrmProcess

CRM_ADDRESS = "crm@example.test"
CRM_PASSWORD = "imap-secret"


def start_dovecot() -> Dovecot:
    return Dovecot({CRM_ADDRESS: CRM_PASSWORD}).start()


async def add_mailbox(conn: asyncpg.Connection, dovecot_port: int, *, address: str = CRM_ADDRESS,
                      folders: tuple[str, ...] = ("INBOX",), host: str = "127.0.0.1") -> int:
    return await conn.fetchval(
        """INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_security, imap_user, imap_password,
                                  folders)
           VALUES ('Sales', $1, $2, $3, 'none', $4, $5, $6) RETURNING id""",
        address, host, dovecot_port, CRM_ADDRESS, CRM_PASSWORD, list(folders))


async def add_card(conn: asyncpg.Connection, name: str, *emails: str) -> int:
    card = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', $1) "
                               "RETURNING id", name)
    for address in emails:
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'email', $2, lower($2))", card, address)
    return card


def message(sender: str, to: str, subject: str, body: str = "Hello", *, cc: str = "", reply_to: EmailMessage | None
            = None, attachment: tuple[str, bytes] | None = None, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = message_id or make_msgid(domain="example.test")
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = " ".join(filter(None, [str(reply_to.get("References", "")), reply_to["Message-ID"]]))
    msg.set_content(body)
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def start_poller(database_url: str, log_path: Path, **env: str) -> PbxcrmProcess:
    """`pbxcrm mail` as its own process (PBXCRM_MAIL_* settings in env), its output in log_path."""
    proc = PbxcrmProcess(["mail"], dict(os.environ, DATABASE_URL=database_url, **env), log_path)
    proc.spawn()
    return proc


async def wait_until(check, timeout: float, what: str, every: float = 0.1, logs=None) -> None:
    """Poll the coroutine function `check` until it is true; fail after `timeout` seconds, with `logs()`
    (the poller's log, say) in the message."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}" + (f"\n{logs()}" if logs else ""))
        await asyncio.sleep(every)
