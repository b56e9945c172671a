"""The sites that carry the chat widget (issue 23), as the admin sets them up: a name, the origins whose
pages may open the chat, the identity secret (made here, shown to the admin, replaced on request),
whether visitors' addresses are anonymised, who gets an offline message's task. Every change is audited
(the secret masked)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import _
from crm.webchat import queries as q
from crm.webchat import rules

_AUDITED = ("name", "allowed_origins", "anonymize_ip", "offline_user_id", "offline_queue_id", "enabled")


@dataclass(frozen=True)
class SiteInput:
    name: str
    origins_text: str
    anonymize_ip: bool
    enabled: bool
    offline_user_id: int | None
    offline_queue_id: int | None


async def _checked(conn: asyncpg.Connection, inp: SiteInput) -> dict:
    errors = {}
    if not inp.name:
        errors["name"] = _("give the site a name")
    origins, bad = rules.parse_origins(inp.origins_text)
    if bad:
        errors["allowed_origins"] = _("not an origin (https://shop.example.com): %(entries)s") % {
            "entries": ", ".join(bad[:5])}
    elif len(origins) > 50:
        errors["allowed_origins"] = _("at most 50 origins")
    if inp.offline_user_id is not None and not await conn.fetchval(
            "SELECT true FROM users WHERE id = $1 AND deleted_at IS NULL AND NOT is_blocked", inp.offline_user_id):
        errors["offline_user_id"] = _("no such active user")
    if inp.offline_queue_id is not None and not await conn.fetchval(
            "SELECT true FROM queues WHERE id = $1 AND deleted_at IS NULL", inp.offline_queue_id):
        errors["offline_queue_id"] = _("no such queue")
    if errors:
        raise ValidationError(errors)
    return {"name": inp.name, "allowed_origins": origins, "anonymize_ip": inp.anonymize_ip, "enabled": inp.enabled,
            "offline_user_id": inp.offline_user_id, "offline_queue_id": inp.offline_queue_id}


async def save(conn: asyncpg.Connection, admin_id: int, site_id: int | None, inp: SiteInput) -> int:
    values = await _checked(conn, inp)
    async with conn.transaction():
        if site_id is None:
            values.update(public_key=secrets.token_urlsafe(18), identity_secret=secrets.token_hex(32))
            site_id = await q.insert_site(conn, values)
            await audit.record(conn, admin_id, "chat_site", site_id, "create", audit.created(values, _AUDITED))
            return site_id
        before = await q.site(conn, site_id)
        if before is None:
            raise NotFound(_("no chat site %(number)d") % {"number": site_id})
        await q.update_site(conn, site_id, values)
        changes = audit.diff(dict(before), values, _AUDITED)
        if changes:
            await audit.record(conn, admin_id, "chat_site", site_id, "update", changes)
    return site_id


async def new_secret(conn: asyncpg.Connection, admin_id: int, site_id: int) -> None:
    """A new identity secret: identities the site signed with the old one no longer check."""
    async with conn.transaction():
        if await q.site(conn, site_id) is None:
            raise NotFound(_("no chat site %(number)d") % {"number": site_id})
        await q.set_site_secret(conn, site_id, secrets.token_hex(32))
        await audit.record(conn, admin_id, "chat_site", site_id, "update", {"identity_secret": ["old", "new"]})
