"""Creating users and checking their passwords."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import asyncpg

from crm import audit, passwords
from crm.errors import DomainError, ValidationError
from crm.i18n import LANGUAGES, _
from crm.labels import TIMEZONE
from crm.roles import ADMIN, ALL_ROLES, CUSTOMER
from crm.users import queries as q

log = logging.getLogger(__name__)

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
_EXTENSION = re.compile(r"^[0-9]{2,6}$")


class AccountError(DomainError):
    """Input for a user account that cannot be accepted; the message is fit to show."""


@dataclass(frozen=True)
class NewUser:
    login: str
    full_name: str
    password: str
    role: str
    extension: str | None = None
    email: str | None = None
    # A customer's user (role customer, issue 22) names its customer; nobody else has one.
    customer_id: int | None = None

    def validate(self) -> None:
        if not LOGIN_PATTERN.match(self.login):
            raise AccountError(_("a login is 2 to 64 letters, digits or . _ @ -"))
        _validate_profile(self.full_name, self.role, self.extension, self.customer_id)


def _validate_profile(full_name: str, role: str, extension: str | None, customer_id: int | None = None) -> None:
    if not full_name.strip():
        raise AccountError(_("the full name is empty"))
    if role not in ALL_ROLES:
        raise AccountError(_("the role must be one of %(roles)s") % {"roles": ", ".join(ALL_ROLES)})
    if role == CUSTOMER and customer_id is None:
        raise ValidationError({"customer_id": _("a customer's user needs its customer")})
    if extension is not None and not _EXTENSION.match(extension):
        raise AccountError(_("an extension is 2 to 6 digits"))


def _extension_taken(extension: str | None) -> AccountError:
    return AccountError(_("extension %(extension)s belongs to another user") % {"extension": extension})


def check_password_for(login: str, full_name: str, password: str) -> None:
    """AccountError naming the rule a new password breaks (length, common, the login or name)."""
    try:
        passwords.check_new_password(password, login=login, full_name=full_name)
    except passwords.WeakPassword as e:
        raise AccountError(str(e)) from None


async def _check_customer(conn: asyncpg.Connection, role: str, customer_id: int | None) -> int | None:
    """The customer to store: a live one for a customer's user, none for anyone else."""
    if role != CUSTOMER:
        return None
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL)",
                               customer_id):
        raise ValidationError({"customer_id": _("no such customer")})
    return customer_id


async def create_user(conn: asyncpg.Connection, new: NewUser, *, by: int | None = None) -> asyncpg.Record:
    """A new user, audited as created by `by` (None: the command line, the demo)."""
    new.validate()
    customer_id = await _check_customer(conn, new.role, new.customer_id)
    check_password_for(new.login, new.full_name, new.password)
    password_hash = await passwords.hash_password_async(new.password)
    try:
        async with conn.transaction():
            user = await q.insert_user(
                conn, login=new.login, full_name=new.full_name.strip(), password_hash=password_hash,
                role=new.role, extension=new.extension, email=new.email, customer_id=customer_id,
            )
            await audit.record(conn, by, "user", user["id"], "create", audit.created(
                {"login": new.login, "full_name": new.full_name.strip(), "role": new.role,
                 "extension": new.extension, "email": new.email, "password": True, "customer_id": customer_id}))
        return user
    except asyncpg.UniqueViolationError as e:
        if "extension" in (e.constraint_name or ""):
            raise _extension_taken(new.extension) from None
        raise AccountError(_("the login %(login)s is taken") % {"login": repr(new.login)}) from None


async def set_password(conn: asyncpg.Connection, login: str, password: str, *, by: int | None = None,
                       force_change: bool = False) -> int:
    """An admin's (or the command line's, by=None) reset: the user's sessions end; returns how many.
    force_change: the user must choose a new password of their own at their next login."""
    row = await q.user_with_hash_by_login(conn, login) if LOGIN_PATTERN.match(login) else None
    if row is None:
        raise AccountError(_("no user with login %(login)s") % {"login": repr(login)})
    check_password_for(row["login"], row["full_name"], password)
    password_hash = await passwords.hash_password_async(password)
    async with conn.transaction():
        await q.set_password_hash(conn, row["id"], password_hash)
        ended = await q.delete_user_sessions(conn, row["id"])
        changes: dict = {"password": [True, True], "sessions_ended": [None, ended]}
        if force_change != row["must_change_password"]:
            await q.set_must_change_password(conn, row["id"], force_change)
            changes["must_change_password"] = [row["must_change_password"], force_change]
        await audit.record(conn, by, "user", row["id"], "password_reset", changes)
    log.info("password of %s reset, %d session(s) ended", row["login"], ended)
    return ended


@dataclass(frozen=True)
class UserChanges:
    full_name: str
    role: str
    extension: str | None
    email: str | None
    is_blocked: bool
    customer_id: int | None = None


async def update_user(conn: asyncpg.Connection, admin_id: int, user_id: int, changes: UserChanges) -> None:
    _validate_profile(changes.full_name, changes.role, changes.extension, changes.customer_id)
    customer_id = await _check_customer(conn, changes.role, changes.customer_id)
    current = await q.user_by_id(conn, user_id)
    if current is None or current["deleted_at"] is not None:
        raise AccountError(_("no such user"))
    if user_id == admin_id and (changes.is_blocked or changes.role != ADMIN):
        raise AccountError(_("you cannot block yourself or take away your own admin role"))
    try:
        async with conn.transaction():
            await q.update_user(conn, user_id, full_name=changes.full_name.strip(), role=changes.role,
                                extension=changes.extension, email=changes.email, is_blocked=changes.is_blocked,
                                customer_id=customer_id)
            if changes.is_blocked:
                await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)
            fields = ("full_name", "role", "extension", "email", "is_blocked", "customer_id")
            diff = audit.diff(current, {**{k: getattr(changes, k) for k in fields}, "customer_id": customer_id},
                              fields)
            if diff:
                await audit.record(conn, admin_id, "user", user_id, "update", diff)
    except asyncpg.UniqueViolationError:
        raise _extension_taken(changes.extension) from None


async def delete_user(conn: asyncpg.Connection, admin_id: int, user_id: int) -> None:
    if user_id == admin_id:
        raise AccountError(_("you cannot delete yourself"))
    current = await q.user_by_id(conn, user_id)
    if current is None or current["deleted_at"] is not None:
        raise AccountError(_("no such user"))
    async with conn.transaction():
        await q.soft_delete_user(conn, user_id)
        await audit.record(conn, admin_id, "user", user_id, "delete",
                           audit.deleted(current, ("login", "full_name", "role", "extension")))


async def set_own_locale(conn: asyncpg.Connection, user_id: int, language: str | None, timezone: str | None,
                         day_start_hour: int | None = None) -> None:
    """A user's own language and time zone (None: the call centre's), from the lists the account page offers;
    `day_start_hour`: when a deadline without a time reminds them (None: unchanged)."""
    errors = {}
    if day_start_hour is not None and not 0 <= day_start_hour <= 23:
        errors["day_start_hour"] = _("is not an hour of the day")
    if language is not None and language not in LANGUAGES:
        errors["language"] = _("is not a language of this CRM")
    if timezone is not None and timezone not in TIMEZONE:
        errors["timezone"] = _("is not a time zone on the list")
    if errors:
        raise ValidationError(errors)
    async with conn.transaction():
        current = await q.user_by_id(conn, user_id)
        if current is None:
            raise AccountError(_("no such user"))
        hour = current["day_start_hour"] if day_start_hour is None else day_start_hour
        await q.set_locale(conn, user_id, language, timezone, hour)
        diff = audit.diff(current, {"language": language, "timezone": timezone, "day_start_hour": hour},
                          ("language", "timezone", "day_start_hour"))
        if diff:
            await audit.record(conn, user_id, "user", user_id, "locale", diff)
