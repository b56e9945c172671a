"""The audit trail: every change, attributed to a user and an address, kept (FEATURES.md G5).

One shape for what changed: {field: [old, new]}. A creation is {field: [None, new]}, a deletion
{field: [old, None]}, an event (a login, an export) its facts as {field: [None, value]}. diff()
builds it from before and after; record() stores it with the address of the request it is
made in, which the web layer sets per request (web/client_address.py) so that no domain
function has to carry it. Passwords, secrets and tokens never reach the table (masked()).
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import asyncpg

MASK = "***"
_SECRET = re.compile(r"password|secret|token|totp|recovery|otp_|passkey|credential|hash", re.I)
# Named like a secret, but a yes/no that says what was asked (an admin's reset forcing a new password).
_NOT_SECRET = frozenset({"must_change_password"})
_REMOVING = ("delete", "remove", "untag", "leave")

_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("pbxcrm_audit_address", default=None)


def current_address() -> str | None:
    return _address.get()


def set_address(address: str | None) -> contextvars.Token:
    """The client address the records made from now on (in this task and those it starts) carry."""
    return _address.set(_valid_address(address))


def reset_address(token: contextvars.Token) -> None:
    _address.reset(token)


@contextlib.contextmanager
def acting_from(address: str | None) -> Iterator[None]:
    token = set_address(address)
    try:
        yield
    finally:
        reset_address(token)


def _valid_address(address: str | None) -> str | None:
    """An IP address PostgreSQL's inet takes, or None (a test client's 'testclient', a Unix socket)."""
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def secret(field: str) -> bool:
    return field not in _NOT_SECRET and bool(_SECRET.search(field))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return bool(a == b)


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
         fields: Iterable[str] | None = None) -> dict[str, list]:
    """{field: [old, new]} for the fields that differ. before None: a creation (fields with a value);
    after None: a deletion. fields defaults to every key of either side."""
    # asyncpg's Record iterates over its values: read both sides as dicts.
    before = dict(before.items()) if before is not None else None
    after = dict(after.items()) if after is not None else None
    if fields is None:
        fields = dict.fromkeys([*(before or {}), *(after or {})])
    out: dict[str, list] = {}
    for f in fields:
        old = before.get(f) if before is not None else None
        new = after.get(f) if after is not None else None
        if not _same(old, new):
            out[f] = [_plain(old), _plain(new)]
    return out


def created(values: Mapping[str, Any], fields: Iterable[str] | None = None) -> dict[str, list]:
    return diff(None, values, fields)


def deleted(values: Mapping[str, Any], fields: Iterable[str] | None = None) -> dict[str, list]:
    return diff(values, None, fields)


def _pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2


def canonical(action: str, changes: Mapping[str, Any] | None) -> dict[str, list]:
    """changes in the one shape: a bare value becomes [None, value] ([value, None] for a removal)."""
    removal = action.startswith(_REMOVING)
    out = {}
    for field, value in (changes or {}).items():
        if not _pair(value):
            value = [value, None] if removal else [None, value]
        out[str(field)] = [_plain(value[0]), _plain(value[1])]
    return out


def masked(changes: Mapping[str, list]) -> dict[str, list]:
    """Secret fields keep that they changed, never their values."""
    return {f: [None if o is None else MASK, None if n is None else MASK] if secret(f) else [o, n]
            for f, (o, n) in changes.items()}


async def record(conn: asyncpg.Connection, user_id: int | None, entity: str, entity_id: int | None,
                 action: str, changes: Mapping[str, Any] | None = None, *, address: str | None = None) -> None:
    """Store one change: who (user_id; None for the system or an unknown login), what, and from
    where (address, else the request's: set_address)."""
    rows = masked(canonical(action, changes))
    await conn.execute(
        """INSERT INTO audit_log (user_id, entity, entity_id, action, changes, address)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::inet)""",
        user_id, entity, entity_id, action, json.dumps(rows, default=str, ensure_ascii=False),
        _valid_address(address) or _address.get(),
    )


async def history(conn: asyncpg.Connection, entity: str, entity_id: int, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT a.id, a.at, a.entity, a.entity_id, a.action, a.changes, a.canonical, host(a.address) AS address,
                  a.user_id, u.full_name AS user_name FROM audit_log a
           LEFT JOIN users u ON u.id = a.user_id
           WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.at DESC, a.id DESC LIMIT $3""",
        entity, entity_id, limit,
    )
