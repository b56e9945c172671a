"""Locked logins and addresses (issue 17): what the login throttling holds back, for the admin
to see, and to lift (the count starts again from zero). The decision is throttle.py's."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import _
from crm.users import queries as q
from crm.users import throttle

log = logging.getLogger(__name__)

SCOPES = ("login", "address")


def policy(scope: str) -> throttle.Policy:
    return throttle.LOGIN if scope == "login" else throttle.ADDRESS


@dataclass(frozen=True)
class Lock:
    scope: str  # "login" or "address"
    key: str  # the login as typed (lower-cased) or the address
    failures: int
    last_failure_at: dt.datetime
    wait_seconds: float  # 0: may try now, but the next failure waits again
    until: dt.datetime
    user_id: int | None = None  # the user with that login, if there is one
    full_name: str | None = None


def lock_of(row: Any) -> Lock | None:
    """A count's lock, None when it holds nothing back (too few failures, or forgotten). Pure."""
    rules = policy(row["scope"])
    failures = throttle.current_failures(rules, row["failures"], row["last_failure_at"], row["now"])
    if failures < rules.free_failures:
        return None
    wait = throttle.wait_seconds(rules, failures, row["last_failure_at"], row["now"])
    return Lock(scope=row["scope"], key=row["key"], failures=failures, last_failure_at=row["last_failure_at"],
                wait_seconds=wait, until=row["now"] + dt.timedelta(seconds=wait),
                user_id=row["user_id"], full_name=row["full_name"])


async def current_locks(conn: asyncpg.Connection) -> list[Lock]:
    """Every login and address the throttling holds back, the most recent failure first."""
    fewest = min(throttle.LOGIN.free_failures, throttle.ADDRESS.free_failures)
    return [lock for row in await q.counted_failures(conn, fewest) if (lock := lock_of(row)) is not None]


async def lift(conn: asyncpg.Connection, admin_id: int, scope: str, key: str) -> int:
    """Clears a login's or an address's count of failures; the count it had. Audited."""
    if scope not in SCOPES:
        raise ValidationError({"scope": _("is not login or address")})
    async with conn.transaction():
        row = await q.lift_failures(conn, scope, key)
        if row is None:
            raise NotFound(_("%(key)s is not locked (any more)") % {"key": key[:100]})
        await audit.record(conn, admin_id, "login_lock", row["user_id"], "lift",
                           {"scope": scope, "key": key, "failures": [row["failures"], 0]})
    log.info("lock on %s %r lifted by user %d (%d failures)", scope, key, admin_id, row["failures"])
    return row["failures"]
