"""Keeping the allow-lists: an admin's changes (never one that shuts the admin out), the
check at login and on every request, and the command line's break-glass."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.allowlist import queries as q
from crm.allowlist.rules import ANYWHERE, allowed, parse_network
from crm.errors import DomainError, NotFound, ValidationError
from crm.i18n import _, ngettext
from crm.roles import ROLES

log = logging.getLogger(__name__)

NOTE_MAX = 200


class AddressNotAllowed(DomainError):
    """The user's allow-list does not include the address they come from."""

    status = 403

    def __init__(self, address: str | None):
        super().__init__(_("This account may not be used from your address (%(address)s). "
                           "Ask an administrator to add it to the allowed networks.")
                         % {"address": address or _("unknown")})
        self.address = address


async def admits(conn: asyncpg.Connection, user: Mapping, address: str | None) -> bool:
    """May this user (id, role) work from this address now?"""
    return allowed(address, user, await q.entries_for(conn, user["id"], user["role"]))


def _changes(row: Mapping, login: str | None, *, added: bool) -> dict:
    values = {"network": str(row["network"]), "role": row["role"], "user": login, "note": row["note"]}
    return {k: [None, v] if added else [v, None] for k, v in values.items() if v not in (None, "")}


async def _keep_admin_in(conn: asyncpg.Connection, admin: Mapping, address: str | None) -> None:
    """Refuses (and so rolls back) a change after which the admin making it could not work from
    where they are: with them, at least one admin keeps their way in."""
    if not await admits(conn, admin, address):
        raise DomainError(_("Refused: after this change you could not work from your current address "
                            "(%(address)s), and no admin might be able to undo it. Add a network that "
                            "includes it first.") % {"address": address or _("unknown")})


async def add_entry(conn: asyncpg.Connection, admin: Mapping, address: str | None, *, role: str | None,
                    user_id: int | None, network: str, note: str = "") -> asyncpg.Record:
    """A network on a role's list or on one user's (exactly one of role and user_id)."""
    role = role or None
    errors = {}
    if (role is None) == (user_id is None):
        errors["role"] = _("choose a role or a user, one of them")
    elif role is not None and role not in ROLES:
        errors["role"] = _("the role must be one of %(roles)s") % {"roles": ", ".join(ROLES)}
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = ngettext("at most %(num)d character", "at most %(num)d characters", NOTE_MAX) % {
            "num": NOTE_MAX}
    try:
        parsed = parse_network(network)
    except ValidationError as e:
        errors.update(e.errors)
    if errors:
        raise ValidationError(errors)
    async with conn.transaction():
        login = None
        if user_id is not None:
            target = await q.active_user(conn, user_id=user_id)
            if target is None:
                raise NotFound(_("no such user"))
            login = target["login"]
        await q.lock(conn)
        row = await q.insert_entry(conn, role=role, user_id=user_id, network=parsed, note=note, by=admin["id"])
        if row is None:
            raise ValidationError({"network": _("%(network)s is on that list already") % {"network": str(parsed)}})
        await _keep_admin_in(conn, admin, address)
        await audit.record(conn, admin["id"], "ip_allow_entry", row["id"], "create", _changes(row, login, added=True))
    log.info("allow-list: %s added %s for %s", admin.get("login"), parsed, login or f"role {role}")
    return row


async def delete_entry(conn: asyncpg.Connection, admin: Mapping, address: str | None, entry_id: int) -> asyncpg.Record:
    async with conn.transaction():
        await q.lock(conn)
        row = await q.delete_entry(conn, entry_id)
        if row is None:
            raise NotFound(_("no such allow-list entry"))
        await _keep_admin_in(conn, admin, address)
        login = (await q.active_user(conn, user_id=row["user_id"]) or {}).get("login") if row["user_id"] else None
        await audit.record(conn, admin["id"], "ip_allow_entry", row["id"], "delete", _changes(row, login, added=False))
    log.info("allow-list: %s removed %s", admin.get("login"), row["network"])
    return row


# ---- break-glass: `pbxcrm allowlist ...` on the server, no web login needed -------------------------

async def _user_by_login(conn: asyncpg.Connection, login: str) -> asyncpg.Record:
    user = await q.active_user(conn, login=login)
    if user is None:
        raise NotFound(_("no user with login %(login)s") % {"login": repr(login)})
    return user


async def open_for(conn: asyncpg.Connection, login: str) -> asyncpg.Record:
    """The user's own list becomes "anywhere" (0.0.0.0/0 and ::/0), whatever their role's says:
    a locked-out admin logs in again and puts the lists right. Audited as the command line's."""
    async with conn.transaction():
        user = await _user_by_login(conn, login)
        await q.lock(conn)
        for row in await q.delete_list(conn, user_id=user["id"]):
            await audit.record(conn, None, "ip_allow_entry", row["id"], "delete",
                               _changes(row, user["login"], added=False) | {"via": "command line"})
        for network in ANYWHERE:
            row = await q.insert_entry(conn, role=None, user_id=user["id"], network=network,
                                       note="break-glass (pbxcrm allowlist open)", by=None)
            assert row is not None
            await audit.record(conn, None, "ip_allow_entry", row["id"], "create",
                               _changes(row, user["login"], added=True) | {"via": "command line"})
    log.warning("allow-list opened for %s from the command line", user["login"])
    return user


async def clear(conn: asyncpg.Connection, *, role: str | None = None, login: str | None = None) -> int:
    """Removes a role's list or a user's own (the command line's); how many entries went."""
    async with conn.transaction():
        user = await _user_by_login(conn, login) if login else None
        if user is None and role not in ROLES:
            raise ValidationError({"role": _("the role must be one of %(roles)s") % {"roles": ", ".join(ROLES)}})
        await q.lock(conn)
        rows = await q.delete_list(conn, role=None if user else role, user_id=user["id"] if user else None)
        for row in rows:
            await audit.record(conn, None, "ip_allow_entry", row["id"], "delete",
                               _changes(row, user["login"] if user else None, added=False) | {"via": "command line"})
    log.warning("allow-list of %s cleared from the command line (%d entries)",
                login or f"role {role}", len(rows))
    return len(rows)
