"""Creating users and checking their passwords."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import asyncpg

from crm import passwords
from crm.users import ROLES
from crm.users import queries as q

log = logging.getLogger(__name__)

_LOGIN = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
_EXTENSION = re.compile(r"^[0-9]{2,6}$")


class AccountError(ValueError):
    """Input for a user account that cannot be accepted; the message is fit to show."""


@dataclass(frozen=True)
class NewUser:
    login: str
    full_name: str
    password: str
    role: str
    extension: str | None = None
    email: str | None = None

    def validate(self) -> None:
        if not _LOGIN.match(self.login):
            raise AccountError("a login is 2 to 64 letters, digits or . _ @ -")
        if not self.full_name.strip():
            raise AccountError("the full name is empty")
        if self.role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}")
        if self.extension is not None and not _EXTENSION.match(self.extension):
            raise AccountError("an extension is 2 to 6 digits")


async def create_user(conn: asyncpg.Connection, new: NewUser) -> asyncpg.Record:
    new.validate()
    try:
        password_hash = passwords.hash_password(new.password)
    except passwords.WeakPassword as e:
        raise AccountError(str(e)) from None
    try:
        return await q.insert_user(
            conn, login=new.login, full_name=new.full_name.strip(), password_hash=password_hash,
            role=new.role, extension=new.extension, email=new.email,
        )
    except asyncpg.UniqueViolationError as e:
        if "extension" in (e.constraint_name or ""):
            raise AccountError(f"extension {new.extension} belongs to another user") from None
        raise AccountError(f"the login {new.login!r} is taken") from None


async def authenticate(conn: asyncpg.Connection, login: str, password: str) -> asyncpg.Record | None:
    """The user for these credentials, or None; blocked and deleted users cannot log in."""
    row = await q.user_with_hash_by_login(conn, login)
    if row is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)
        return None
    if not passwords.verify_password(row["password_hash"], password):
        return None
    if row["is_blocked"] or row["deleted_at"] is not None:
        log.info("refused login for blocked or deleted user %s", row["login"])
        return None
    if passwords.needs_rehash(row["password_hash"]):
        await q.set_password_hash(conn, row["id"], passwords.hash_password(password))
    return row


async def set_password(conn: asyncpg.Connection, login: str, password: str) -> None:
    try:
        password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as e:
        raise AccountError(str(e)) from None
    row = await q.user_with_hash_by_login(conn, login)
    if row is None:
        raise AccountError(f"no user with login {login!r}")
    await q.set_password_hash(conn, row["id"], password_hash)
