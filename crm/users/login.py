"""Checking a password as a login does: throttled, off the event loop, audited.

The login form and a user's own password change both go through
check_credentials, so a wrong current password counts like a wrong login.
"""

from __future__ import annotations

import datetime as dt
import logging

import asyncpg

from crm import audit, passwords
from crm.allowlist import service as allowlist
from crm.errors import DomainError
from crm.i18n import _
from crm.users import queries as q
from crm.users import throttle
from crm.users.accounts import LOGIN_PATTERN, AccountError

log = logging.getLogger(__name__)

_KEY_LENGTH = 100


class LoginLocked(DomainError):
    """Too many failures for this login or from this address: wait, whatever the password."""

    status = 429

    def __init__(self, scope: str, wait: float, until: dt.datetime):
        when = throttle.in_words(wait)
        super().__init__(_("Too many failed attempts for this login; try again %(when)s") % {"when": when}
                         if scope == "login" else
                         _("Too many failed attempts from your address; try again %(when)s") % {"when": when})
        self.scope = scope
        self.retry_after = max(1, int(wait + 0.999))
        self.until = until


def login_key(login: str) -> str:
    # Any text at all, existing login or not; NUL is the one character PostgreSQL text refuses.
    return login.strip().casefold().replace("\x00", "")[:_KEY_LENGTH]


def _address_key(address: str | None) -> str:
    return (address or "unknown").replace("\x00", "")[:_KEY_LENGTH]


def _refuse_if_locked(scope: str, policy: throttle.Policy, row: asyncpg.Record) -> None:
    wait = throttle.wait_seconds(policy, row["failures"] or 0, row["last_failure_at"], row["now"])
    if wait > 0:
        raise LoginLocked(scope, wait, row["now"] + dt.timedelta(seconds=wait))


async def check_credentials(pool: asyncpg.Pool, login: str, password: str, address: str | None, *,
                            purpose: str = "login") -> asyncpg.Record | None:
    """The active user with this login and password, or None (audited as f"{purpose}_failed").

    Raises LoginLocked while the login or the address has to wait, even for the
    right password, passwords.Busy when the hashing pool is full, and (a login only)
    allowlist.AddressNotAllowed for the right password from outside the user's allow-list. A success
    is audited as a login when purpose is "login"; other callers audit their own.
    """
    key, where = login_key(login), _address_key(address)
    with passwords.admitted() as ticket:
        async with pool.acquire() as conn:
            async with conn.transaction():
                mine = await q.lock_failures(conn, "login", key)
                _refuse_if_locked("login", throttle.LOGIN, mine)
                _refuse_if_locked("address", throttle.ADDRESS, await q.failures(conn, "address", where))
                # The attempt counts as a failure until it succeeds: attempts on one login made at
                # the same moment (from any worker) see each other and wait their turn.
                await q.count_failure(conn, "login", key, throttle.LOGIN.forget_after)
            row = await q.user_with_hash_by_login(conn, login) if LOGIN_PATTERN.match(login) else None
        # No connection is held while argon2 works.
        matches = await ticket.verify(row["password_hash"] if row else passwords.DUMMY_HASH, password)
        active = row is not None and not row["is_blocked"] and row["deleted_at"] is None
        user = row if matches and active else None
        new_hash = None
        if user is not None and passwords.needs_rehash(user["password_hash"]):
            new_hash = await ticket.hash(password)
    outside = False
    async with pool.acquire() as conn:
        async with conn.transaction():
            if user is not None and purpose == "login" and not await allowlist.admits(conn, user, address):
                # The right password from outside the user's allow-list (issue 17): a failure like any
                # other, so guessing from outside is throttled alike; a wrong password never gets here.
                user, outside = None, True
            if user is not None:
                await q.clear_failures(conn, "login", key)
                if new_hash:
                    await q.set_password_hash(conn, user["id"], new_hash)
                if purpose == "login":
                    await audit.record(conn, user["id"], "user", user["id"], "login",
                                       {"login": [None, user["login"]]}, address=address)
            else:
                await q.count_failure(conn, "address", where, throttle.ADDRESS.forget_after)
                await q.forget_old_failures(conn, max(throttle.LOGIN.forget_after, throttle.ADDRESS.forget_after))
                changes = {"login": [None, login.replace("\x00", "")[:_KEY_LENGTH]]}
                if matches and not active:
                    changes["reason"] = [None, "blocked or deleted"]
                if outside:
                    changes["reason"] = [None, "address not allowed"]
                await audit.record(conn, None, "user", row["id"] if row else None, f"{purpose}_failed", changes,
                                   address=address)
    if user is None:
        log.info("%s failed for %r from %s%s", purpose, login[:_KEY_LENGTH], address,
                 ": address not allowed" if outside else "")
    if outside:
        raise allowlist.AddressNotAllowed(address)
    return user


async def change_own_password(pool: asyncpg.Pool, user: dict, *, current: str, new: str, repeat: str,
                              address: str | None, keep_session: bytes | None) -> int:
    """Set a user's password after checking their current one; ends their other sessions (the count)."""
    if not current:
        raise AccountError(_("enter your current password"))
    if new != repeat:
        raise AccountError(_("the new password and its repetition differ"))
    if user.get("must_change_password") and new == current:
        raise AccountError(_("choose a new password of your own, not the one you were given"))
    try:
        passwords.check_new_password(new, login=user["login"], full_name=user["full_name"])
    except passwords.WeakPassword as e:
        raise AccountError(str(e)) from None
    if await check_credentials(pool, user["login"], current, address, purpose="password_change") is None:
        raise AccountError(_("the current password is wrong"))
    new_hash = await passwords.hash_password_async(new)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await q.set_password_hash(conn, user["id"], new_hash)
            ended = await q.delete_user_sessions(conn, user["id"], keep=keep_session)
            changes: dict = {"password": [True, True], "sessions_ended": [None, ended]}
            if user.get("must_change_password"):  # an admin's reset asked for this change: done
                await q.set_must_change_password(conn, user["id"], False)
                changes["must_change_password"] = [True, False]
            await audit.record(conn, user["id"], "user", user["id"], "password_change", changes, address=address)
    return ended
