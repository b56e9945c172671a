"""The shops orders come from (issue 24, K1), set up by an admin, each change audited: a name, a kind
(commerceml: the shop's 1C exchange calls us, or its XML is pulled from a URL; webhook: WooCommerce's
signed JSON; feed: a CSV, Excel or JSON list pulled from a URL), the machine URL's key, the exchange's
login and the password or HMAC secret, the manager of new cards and the rule for a new order."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import _
from crm.orders.sources import SourceError, check_url
from crm.shop_orders.model import SOURCE_KINDS

_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # as migration 0049 checks shop_sources.key
_FIELDS = ("name", "kind", "login", "secret", "url", "reload_minutes", "active", "manager_user_id", "notify_manager",
           "make_task", "task_type_id", "task_due_minutes")


def new_key() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class SourceInput:
    name: str
    kind: str
    login: str = ""
    secret: str = ""  # blank: keep the stored one (a new source gets a random one)
    url: str = ""
    reload_minutes: int | None = None
    active: bool = True
    manager_user_id: int | None = None
    notify_manager: bool = False
    make_task: bool = False
    task_type_id: int | None = None
    task_due_minutes: int = 30

    def cleaned(self) -> SourceInput:
        """The input as stored, or a ValidationError naming each field to fix (pure)."""
        errors: dict[str, str] = {}
        name = " ".join(self.name.split())
        if not name or len(name) > 200:
            errors["name"] = _("the source needs a name of at most 200 characters")
        if self.kind not in SOURCE_KINDS:
            errors["kind"] = _("choose the kind of source")
        try:
            url = check_url(self.url)
        except SourceError as e:
            errors["url"], url = str(e), ""
        if self.kind == "feed" and not url and "url" not in errors:
            errors["url"] = _("a list is pulled from a URL: give its address")
        minutes = self.reload_minutes
        if minutes is not None and not 5 <= minutes <= 10080:
            errors["reload_minutes"] = _("from 5 minutes to a week (10080)")
        if len(self.login) > 100 or any(c in self.login for c in ":\r\n"):
            errors["login"] = _("at most 100 characters, no colon")
        elif self.kind == "commerceml" and not self.login.strip() and not url and "url" not in errors:
            errors["login"] = _("the shop's 1C signs in with a login: give one (or a URL to pull the XML from)")
        if len(self.secret) > 200:
            errors["secret"] = _("at most 200 characters")
        if self.make_task and self.task_type_id is None:
            errors["task_type_id"] = _("choose the task's type")
        if not 0 <= self.task_due_minutes <= 100000:
            errors["task_due_minutes"] = _("from 0 to 100000 minutes")
        if errors:
            raise ValidationError(errors)
        return SourceInput(name=name, kind=self.kind, login=self.login.strip(), secret=self.secret.strip(), url=url,
                           reload_minutes=minutes if url else None, active=self.active,
                           manager_user_id=self.manager_user_id, notify_manager=self.notify_manager,
                           make_task=self.make_task, task_type_id=self.task_type_id,
                           task_due_minutes=self.task_due_minutes)


async def all_sources(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT s.*, u.full_name AS manager_name,
                  (SELECT count(*) FROM shop_orders o WHERE o.source_id = s.id) AS orders
           FROM shop_sources s LEFT JOIN users u ON u.id = s.manager_user_id ORDER BY lower(s.name), s.id""")


async def get(conn: asyncpg.Connection, source_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM shop_sources WHERE id = $1", source_id)
    if row is None:
        raise NotFound(_("no such shop source"))
    return row


async def by_key(conn: asyncpg.Connection, key: str, kind: str) -> asyncpg.Record | None:
    """An active source of this kind by its URL key (the machine paths); None for a key no source can have."""
    if not _KEY.fullmatch(key):
        return None
    return await conn.fetchrow("SELECT * FROM shop_sources WHERE key = $1 AND kind = $2 AND active", key, kind)


async def _check_refs(conn: asyncpg.Connection, inp: SourceInput) -> None:
    errors = {}
    if inp.manager_user_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL AND role <> 'customer')",
            inp.manager_user_id):
        errors["manager_user_id"] = _("choose a user")
    if inp.task_type_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM task_types WHERE id = $1)", inp.task_type_id):
        errors["task_type_id"] = _("choose the task's type")
    if errors:
        raise ValidationError(errors)


async def save(conn: asyncpg.Connection, admin_id: int, source_id: int | None, inp: SourceInput,
               now: dt.datetime) -> int:
    inp = inp.cleaned()
    async with conn.transaction():
        await _check_refs(conn, inp)
        before = await get(conn, source_id) if source_id is not None else None
        secret = inp.secret or (before["secret"] if before else secrets.token_urlsafe(24))
        values = [inp.name, inp.kind, inp.login, secret, inp.url, inp.reload_minutes, inp.active, inp.manager_user_id,
                  inp.notify_manager, inp.make_task, inp.task_type_id, inp.task_due_minutes]
        if before is None:
            source_id = await conn.fetchval(
                """INSERT INTO shop_sources (name, kind, login, secret, url, reload_minutes, active, manager_user_id,
                                             notify_manager, make_task, task_type_id, task_due_minutes, key,
                                             next_load_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                           CASE WHEN $5 <> '' THEN $14::timestamptz END)
                   RETURNING id""", *values, new_key(), now)
        else:
            await conn.execute(
                """UPDATE shop_sources SET name = $1, kind = $2, login = $3, secret = $4, url = $5, reload_minutes = $6,
                          active = $7, manager_user_id = $8, notify_manager = $9, make_task = $10, task_type_id = $11,
                          task_due_minutes = $12, updated_at = now(),
                          next_load_at = CASE WHEN $5 = '' THEN NULL WHEN $5 <> url THEN $14::timestamptz
                                              ELSE coalesce(next_load_at, $14) END,
                          last_digest = CASE WHEN $5 <> url THEN '' ELSE last_digest END
                   WHERE id = $13""", *values, source_id, now)
        after = dict(zip(_FIELDS, values))
        await audit.record(conn, admin_id, "shop_source", source_id, "create" if before is None else "update",
                           audit.diff({f: before[f] for f in _FIELDS} if before else None, after))
    assert source_id is not None
    return source_id


async def record_outcome(conn: asyncpg.Connection, source_id: int, *, error: str, counts: Mapping | None = None,
                         body_digest: str | None = None) -> None:
    await conn.execute(
        """UPDATE shop_sources SET last_error = $2,
                  last_loaded_at = CASE WHEN $3::jsonb IS NOT NULL THEN now() ELSE last_loaded_at END,
                  last_counts = coalesce($3::jsonb, last_counts), last_digest = coalesce($4, last_digest)
           WHERE id = $1""", source_id, error[:1000], json.dumps(counts) if counts is not None else None, body_digest)
