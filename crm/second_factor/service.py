"""The second factor's flows: setting it up, checking a code (throttled, audited, never twice),
recovery codes, turning it off, the admin's reset and the roles that require it.

The decisions are crm/second_factor/totp.py's; the SQL is crm/second_factor/queries.py's.
Codes are checked against the real clock (the phone's), not the CRM's shifted one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import DomainError
from crm.i18n import _
from crm.roles import ROLES
from crm.second_factor import queries as q
from crm.second_factor import totp
from crm.users import throttle
from crm.users.login import check_credentials

log = logging.getLogger(__name__)


class SecondFactorError(DomainError):
    """A code refused, or a step out of order: the message says which."""


class CodesLocked(SecondFactorError):
    """Too many wrong codes for this user: wait, whatever the code."""

    status = 429

    def __init__(self, wait: float):
        super().__init__(_("Too many wrong codes; try again %(when)s") % {"when": throttle.in_words(wait)})
        self.retry_after = max(1, int(wait + 0.999))


@dataclass(frozen=True)
class Status:
    enrolled_at: dt.datetime | None
    pending_secret: str | None
    recovery_codes_left: int

    @property
    def enrolled(self) -> bool:
        return self.enrolled_at is not None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _refusal(check: totp.Check) -> str:
    if check.verdict is totp.Verdict.REPLAYED:
        return _("This code has already been used. Wait for the next code in your app and enter that one.")
    if check.verdict is totp.Verdict.MALFORMED:
        return _("Enter the 6-digit code from your app, or one of your recovery codes.")
    return _("Wrong code. Check that your phone's clock is right and enter the code your app shows now.")


async def status(conn: asyncpg.Connection, user_id: int) -> Status:
    row = await q.totp_row(conn, user_id)
    if row is None:
        return Status(None, None, 0)
    return Status(row["enrolled_at"], row["pending_secret"], await q.recovery_codes_left(conn, user_id))


async def required_roles(conn: asyncpg.Connection) -> list[str]:
    return await q.required_roles(conn)


async def login_step(conn: asyncpg.Connection, user: dict | asyncpg.Record) -> totp.Step:
    """After a right password: whether the session opens now, after a code, or after setting one up."""
    row = await q.totp_row(conn, user["id"])
    enrolled = row is not None and row["secret"] is not None
    return totp.login_step(user["role"], enrolled, await q.required_roles(conn))


def _refuse_if_locked(row: asyncpg.Record) -> None:
    wait = throttle.wait_seconds(totp.POLICY, row["failures"] or 0, row["last_failure_at"], row["now"])
    if wait > 0:
        raise CodesLocked(wait)


async def _failed(conn: asyncpg.Connection, user_id: int, reason: str, purpose: str, address: str | None) -> None:
    await q.count_failure(conn, user_id, totp.POLICY.forget_after)
    await audit.record(conn, user_id, "user", user_id, "second_factor_failed",
                       {"reason": reason, "purpose": purpose, "ip": address})
    log.info("second factor refused for user %d (%s, %s) from %s", user_id, reason, purpose, address)


async def start_enrolment(conn: asyncpg.Connection, user_id: int) -> str:
    """A fresh secret to set up (the one offered already while setting up is kept)."""
    row = await q.totp_row(conn, user_id)
    if row is not None and row["secret"] is not None:
        raise SecondFactorError(_("Your second factor is already set up; turn it off first to set up a new one."))
    if row is not None and row["pending_secret"]:
        return row["pending_secret"]
    secret = totp.new_secret()
    await q.set_pending_secret(conn, user_id, secret)
    return secret


async def restart_enrolment(conn: asyncpg.Connection, user_id: int) -> str:
    """A new secret in place of the one offered (a QR code that was seen by someone else, say)."""
    row = await q.totp_row(conn, user_id)
    if row is not None and row["secret"] is not None:
        raise SecondFactorError(_("Your second factor is already set up; turn it off first to set up a new one."))
    secret = totp.new_secret()
    await q.set_pending_secret(conn, user_id, secret)
    return secret


async def _new_recovery_codes(conn: asyncpg.Connection, user_id: int) -> list[str]:
    codes = totp.new_recovery_codes()
    await q.replace_recovery_codes(conn, user_id, [totp.recovery_hash(c) for c in codes])
    return codes


async def confirm_enrolment(conn: asyncpg.Connection, user_id: int, typed: str, address: str | None,
                            *, now: dt.datetime | None = None) -> list[str]:
    """The offered secret becomes the user's once a code from it is right; the recovery codes, to show once."""
    refusal = None
    async with conn.transaction():
        row = await q.totp_row(conn, user_id, lock=True)
        if row is None or not row["pending_secret"]:
            raise SecondFactorError(_("Start setting up the second factor first."))
        _refuse_if_locked(row)
        check = totp.check_code(row["pending_secret"], typed, now or _now(), None)
        if check.verdict is totp.Verdict.ACCEPTED and check.step is not None:
            await q.enrol(conn, user_id, check.step)
            codes = await _new_recovery_codes(conn, user_id)
            await audit.record(conn, user_id, "user", user_id, "second_factor_enrolled", {"ip": address})
        elif check.verdict is totp.Verdict.MALFORMED:
            raise SecondFactorError(_("Enter the 6-digit code your app shows."))
        else:
            refusal = _refusal(check)
            await _failed(conn, user_id, check.verdict.value, "enrol", address)
    if refusal:
        raise SecondFactorError(refusal)
    log.info("user %d set up a second factor", user_id)
    return codes


async def verify(conn: asyncpg.Connection, user_id: int, typed: str, address: str | None, *,
                 purpose: str = "login", recovery: bool = True, now: dt.datetime | None = None) -> str:
    """Check a code (or, if allowed, spend a recovery code): "totp" or "recovery", how it passed.

    Raises SecondFactorError (a wrong, spent or malformed code; counted and audited but for the
    malformed) and CodesLocked while the user has to wait.
    """
    refusal = None
    async with conn.transaction():
        row = await q.totp_row(conn, user_id, lock=True)
        if row is None or row["secret"] is None:
            raise SecondFactorError(_("No second factor is set up for this account."))
        _refuse_if_locked(row)
        if recovery and totp.looks_like_recovery(typed):
            method = "recovery"
            if not await q.use_recovery_code(conn, user_id, totp.recovery_hash(typed)):
                refusal = _("This recovery code is wrong or has already been used.")
                await _failed(conn, user_id, "recovery code", purpose, address)
        else:
            method = "totp"
            check = totp.check_code(row["secret"], typed, now or _now(), row["last_step"])
            if check.verdict is totp.Verdict.MALFORMED:
                raise SecondFactorError(_refusal(check) if recovery else _("Enter the 6-digit code your app shows."))
            if check.verdict is totp.Verdict.ACCEPTED and check.step is not None:
                if not await q.spend_step(conn, user_id, check.step):  # cannot happen under the row lock
                    check = totp.Check(totp.Verdict.REPLAYED, check.step)
            if check.verdict is not totp.Verdict.ACCEPTED:
                refusal = _refusal(check)
                await _failed(conn, user_id, check.verdict.value, purpose, address)
        if refusal is None:
            await q.clear_failures(conn, user_id)
            await audit.record(conn, user_id, "user", user_id, "second_factor_passed",
                               {"method": method, "purpose": purpose, "ip": address})
    if refusal:
        raise SecondFactorError(refusal)
    return method


async def regenerate_recovery_codes(conn: asyncpg.Connection, user_id: int, typed: str,
                                    address: str | None) -> list[str]:
    """New recovery codes in place of the old ones, for a current code from the app."""
    await verify(conn, user_id, typed, address, purpose="recovery_codes", recovery=False)
    async with conn.transaction():
        codes = await _new_recovery_codes(conn, user_id)
        await audit.record(conn, user_id, "user", user_id, "recovery_codes_regenerated", {"ip": address})
    return codes


async def disable(pool: asyncpg.Pool, conn: asyncpg.Connection, user: dict, *, code: str, password: str,
                  address: str | None) -> None:
    """Turn the user's own second factor off, for a current code or their password."""
    if not totp.may_disable(user["role"], await q.required_roles(conn)):
        raise SecondFactorError(_("Your role requires a second factor: it cannot be turned off."))
    if code.strip():
        await verify(conn, user["id"], code, address, purpose="disable")
    elif password:
        # The pool: no connection is held while the password is hashed. Throttled like a login.
        if await check_credentials(pool, user["login"], password, address, purpose="second_factor_disable") is None:
            raise SecondFactorError(_("The password is wrong."))
    else:
        raise SecondFactorError(_("Enter a code from your app or your password."))
    async with conn.transaction():
        await q.remove(conn, user["id"])
        await audit.record(conn, user["id"], "user", user["id"], "second_factor_disabled", {"ip": address})


async def reset(conn: asyncpg.Connection, admin_id: int, user_id: int, address: str | None) -> bool:
    """An admin's reset of a user's second factor (a lost phone): they set it up again at their next
    login if their role requires it. False if they had none."""
    async with conn.transaction():
        had = await q.remove(conn, user_id)
        await q.delete_user_pending(conn, user_id)
        if had:
            await audit.record(conn, admin_id, "user", user_id, "second_factor_reset", {"ip": address})
    return had


async def set_required_roles(conn: asyncpg.Connection, admin_id: int, roles: list[str], *,
                             keep_session: bytes | None, address: str | None) -> int:
    """The roles whose users must give a second factor. Newly required roles' users without one are
    logged out (but the admin's own session) and set one up at their next login; the count."""
    wanted = [r for r in ROLES if r in set(roles)]
    async with conn.transaction():
        before = await q.required_roles(conn)
        await q.set_required_roles(conn, wanted, admin_id)
        added = [r for r in wanted if r not in before]
        ended = await q.end_sessions_without_second_factor(conn, added, keep_session) if added else 0
        await audit.record(conn, admin_id, "settings", None, "second_factor_roles",
                           {"roles": [before, wanted], "sessions_ended": [None, ended]}, address=address)
    return ended
