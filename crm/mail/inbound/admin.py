"""The admin's mailboxes (issue 23): what a mailbox's settings must be (pure), and the SQL that saves
them, audited, with a NOTIFY (crm.mail.MAILBOXES_CHANNEL) so `pbxcrm mail` reads them again. The
password is never read back out to a page: a blank one keeps the stored one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import gettext as _
from crm.mail import MAILBOXES_CHANNEL
from crm.mail.addresses import normalize_address

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
MAX_FOLDERS = 20
HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")
FOLDER_SPLIT = re.compile(r"[,\n]")
# Ids are compared as bigint: a path's id may be any 64-bit number (web/__init__.py), the column is an integer.
AUDITED = ("name", "address", "imap_host", "imap_port", "imap_security", "imap_user", "folders", "enabled")


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    address: str
    imap_host: str
    imap_port: int
    imap_security: str
    imap_user: str
    folders: tuple[str, ...]
    enabled: bool


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate(typed: Mapping[str, object]) -> MailboxSettings:
    """The form's fields -> settings, or ValidationError naming each wrong field."""
    errors: dict[str, str] = {}
    name = str(typed.get("name", "")).strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = _("a name is 1 to %(num)d characters") % {"num": 200}
    address = normalize_address(str(typed.get("address", "")))
    if not address:
        errors["address"] = _("an e-mail address, like sales@example.com")
    host = str(typed.get("imap_host", "")).strip()
    if not HOST.match(host):
        errors["imap_host"] = _("the IMAP server's name or address")
    security = str(typed.get("imap_security", "ssl"))
    if security not in SECURITY:
        errors["imap_security"] = _("choose one of the offered")
    elif security == "none" and host and not is_loopback(host):
        errors["imap_security"] = _("without encryption only to this computer (127.0.0.1): the password "
                                    "would cross the network in clear")
    raw_port = str(typed.get("imap_port", "")).strip()
    port = DEFAULT_PORTS.get(security, 993)
    if raw_port:
        if raw_port.isascii() and raw_port.isdigit() and 1 <= int(raw_port) <= 65535:
            port = int(raw_port)
        else:
            errors["imap_port"] = _("a port from 1 to 65535")
    user = str(typed.get("imap_user", "")).strip()
    if not 1 <= len(user) <= 320:
        errors["imap_user"] = _("the login on the IMAP server")
    folders = tuple(dict.fromkeys(f.strip() for f in FOLDER_SPLIT.split(str(typed.get("folders", "")))
                                  if f.strip()))
    if not folders:
        folders = ("INBOX",)
    if len(folders) > MAX_FOLDERS or any(len(f) > 200 or any(ord(c) < 32 for c in f) or '"' in f
                                         for f in folders):
        errors["folders"] = _("up to %(num)d folder names, separated by commas") % {"num": MAX_FOLDERS}
    if errors:
        raise ValidationError(errors)
    return MailboxSettings(name, address, host, port, security, user, folders, bool(typed.get("enabled")))


async def mailboxes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The list, without passwords."""
    return await conn.fetch(
        """SELECT id, name, address, imap_host, imap_port, imap_security, imap_user, folders, enabled, last_error,
                  last_polled_at, imap_password <> '' AS has_password,
                  (SELECT count(*) FROM mail_messages m WHERE m.mailbox_id = b.id AND m.direction = 'in') AS messages
           FROM mailboxes b WHERE deleted_at IS NULL ORDER BY lower(name), id""")


async def mailbox(conn: asyncpg.Connection, mailbox_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, address, imap_host, imap_port, imap_security, imap_user, folders, enabled,
                  imap_password <> '' AS has_password
           FROM mailboxes WHERE id = $1::bigint AND deleted_at IS NULL""", mailbox_id)


def _values(row: Mapping) -> dict:
    return {k: (list(row[k]) if k == "folders" else row[k]) for k in AUDITED}


async def save(conn: asyncpg.Connection, admin_id: int, mailbox_id: int | None, typed: Mapping[str, object],
               password: str) -> int:
    """Create or change a mailbox; `password` '' keeps the stored one (a new mailbox needs one)."""
    settings = validate(typed)
    async with conn.transaction():
        before = await conn.fetchrow("SELECT * FROM mailboxes WHERE id = $1::bigint AND deleted_at IS NULL FOR UPDATE",
                                     mailbox_id) if mailbox_id else None
        if mailbox_id and before is None:
            raise NotFound(_("no such mailbox"))
        if before is None and not password:
            raise ValidationError({"imap_password": _("the password of the IMAP login")})
        values = [settings.name, settings.address, settings.imap_host, settings.imap_port, settings.imap_security,
                  settings.imap_user, list(settings.folders), settings.enabled]
        try:
            if before is None:
                mailbox_id = await conn.fetchval(
                    """INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_security, imap_user, folders,
                                              enabled, imap_password)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""", *values, password)
            else:
                await conn.execute(
                    """UPDATE mailboxes SET name = $2, address = $3, imap_host = $4, imap_port = $5,
                           imap_security = $6, imap_user = $7, folders = $8, enabled = $9,
                           imap_password = CASE WHEN $10 = '' THEN imap_password ELSE $10 END,
                           last_error = CASE WHEN $9 THEN last_error ELSE '' END
                       WHERE id = $1::bigint""", mailbox_id, *values, password)
        except asyncpg.UniqueViolationError:
            raise ValidationError({"address": _("another mailbox has the address %(address)s")
                                   % {"address": settings.address}}) from None
        after = {**{k: getattr(settings, k) for k in AUDITED}, "folders": list(settings.folders)}
        if before is None:
            await audit.record(conn, admin_id, "mailbox", mailbox_id, "create",
                               audit.created({**after, "imap_password": "***"}))
        else:
            was = _values(before)
            changes = {k: [was[k], v] for k, v in after.items() if was[k] != v}
            if password:
                changes["imap_password"] = ["***", "***"]
            await audit.record(conn, admin_id, "mailbox", mailbox_id, "update", changes)
        await conn.execute("SELECT pg_notify($1, $2)", MAILBOXES_CHANNEL, str(mailbox_id))
    assert mailbox_id is not None
    return mailbox_id


async def set_enabled(conn: asyncpg.Connection, admin_id: int, mailbox_id: int, enabled: bool) -> None:
    async with conn.transaction():
        was = await conn.fetchval(
            "SELECT enabled FROM mailboxes WHERE id = $1::bigint AND deleted_at IS NULL FOR UPDATE", mailbox_id)
        if was is None:
            raise NotFound(_("no such mailbox"))
        if was == enabled:
            return
        await conn.execute("UPDATE mailboxes SET enabled = $2 WHERE id = $1::bigint", mailbox_id, enabled)
        await audit.record(conn, admin_id, "mailbox", mailbox_id, "update", {"enabled": [was, enabled]})
        await conn.execute("SELECT pg_notify($1, $2)", MAILBOXES_CHANNEL, str(mailbox_id))
