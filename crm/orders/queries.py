"""SQL for orders (issue 22, H9): the lists a user may see, one order, its rows, calls and SMS, saving.
Every read takes the user and keeps to what crm/orders/permissions.py lets them see (NotFound otherwise)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.calls import queries as calls_q
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.orders import permissions
from crm.orders.sources import SourceError, check_url
from crm.sms import listing as sms_listing

STATUSES = ("open", "closed")
_FIELDS = ("name", "customer_id", "script", "status", "source_url", "reload_minutes", "key_column")


@dataclass(frozen=True)
class OrderInput:
    name: str
    customer_id: int | None
    script: str = ""
    status: str = "open"
    source_url: str = ""
    reload_minutes: int | None = None
    key_column: str = ""

    def cleaned(self) -> "OrderInput":
        """The input as stored, or a ValidationError naming each field to fix (pure)."""
        errors: dict[str, str] = {}
        name = " ".join(self.name.split())
        if not name:
            errors["name"] = _("the order needs a name")
        elif len(name) > 200:
            errors["name"] = _("at most 200 characters")
        if self.customer_id is None:
            errors["customer_id"] = _("choose the customer")
        if len(self.script) > 20000:
            errors["script"] = _("at most 20000 characters")
        if self.status not in STATUSES:
            errors["status"] = _("choose open or closed")
        try:
            url = check_url(self.source_url)
        except SourceError as e:
            errors["source_url"], url = str(e), ""
        minutes = self.reload_minutes
        if minutes is not None and not 5 <= minutes <= 10080:
            errors["reload_minutes"] = _("from 5 minutes to a week (10080)")
        if minutes is not None and not url and "source_url" not in errors:
            errors["reload_minutes"] = _("only a list read from a URL is reloaded")
        if len(self.key_column.strip()) > 100:
            errors["key_column"] = _("at most 100 characters")
        if errors:
            raise ValidationError(errors)
        return OrderInput(name=name, customer_id=self.customer_id, script=self.script.replace("\r\n", "\n"),
                          status=self.status, source_url=url, reload_minutes=minutes,
                          key_column=self.key_column.strip())


def _visible(user: Mapping, first_arg: int) -> tuple[str, list]:
    return permissions.visible_where(user, "o", first_arg)


async def count_visible(conn: asyncpg.Connection, user: Mapping) -> int:
    where, args = _visible(user, 1)
    return await conn.fetchval(f"SELECT count(*) FROM orders o WHERE {where}", *args)


async def visible(conn: asyncpg.Connection, user: Mapping, limit: int, offset: int) -> list[asyncpg.Record]:
    where, args = _visible(user, 3)
    return await conn.fetch(
        f"""SELECT o.id, o.name, o.status, o.source_url, o.reload_minutes, o.last_loaded_at, o.last_error,
                   c.name AS customer_name,
                   (SELECT count(*) FROM order_rows r WHERE r.order_id = o.id AND r.removed_at IS NULL) AS rows,
                   (SELECT count(*) FROM calls k WHERE k.order_id = o.id) AS calls
            FROM orders o JOIN customers c ON c.id = o.customer_id
            WHERE {where} ORDER BY o.status, o.id DESC LIMIT $1 OFFSET $2""", limit, offset, *args)


async def get(conn: asyncpg.Connection, user: Mapping, order_id: int) -> asyncpg.Record:
    """The order if the user may see it; NotFound for one that does not exist or is not theirs alike."""
    where, args = _visible(user, 2)
    row = await conn.fetchrow(
        f"""SELECT o.*, c.name AS customer_name FROM orders o JOIN customers c ON c.id = o.customer_id
            WHERE o.id = $1 AND {where}""", order_id, *args)
    if row is None:
        raise NotFound(_("no such order"))
    return row


async def _check_customer(conn: asyncpg.Connection, customer_id: int | None) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL)",
                               customer_id):
        raise ValidationError({"customer_id": _("choose the customer")})


async def create(conn: asyncpg.Connection, user: Mapping, inp: OrderInput, now: dt.datetime) -> int:
    if not permissions.may_edit_orders(user):
        raise Forbidden(_("your role does not allow changing orders"))
    inp = inp.cleaned()
    async with conn.transaction():
        await _check_customer(conn, inp.customer_id)
        order_id = await conn.fetchval(
            """INSERT INTO orders (name, customer_id, script, status, source_url, reload_minutes, key_column,
                                   next_load_at, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
            inp.name, inp.customer_id, inp.script, inp.status, inp.source_url, inp.reload_minutes, inp.key_column,
            now if inp.source_url else None, user["id"])
        await audit.record(conn, user["id"], "order", order_id, "create",
                           audit.diff(None, {f: getattr(inp, f) for f in _FIELDS}))
    return order_id


async def update(conn: asyncpg.Connection, user: Mapping, order_id: int, inp: OrderInput, now: dt.datetime) -> None:
    if not permissions.may_edit_orders(user):
        raise Forbidden(_("your role does not allow changing orders"))
    inp = inp.cleaned()
    async with conn.transaction():
        before = await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
        if before is None:
            raise NotFound(_("no such order"))
        await _check_customer(conn, inp.customer_id)
        source_changed = (before["source_url"], before["key_column"]) != (inp.source_url, inp.key_column)
        await conn.execute(
            """UPDATE orders SET name = $2, customer_id = $3, script = $4, status = $5, source_url = $6,
                      reload_minutes = $7, key_column = $8, updated_at = now(),
                      -- A new address or key is read at once, and in full (not skipped as unchanged).
                      next_load_at = CASE WHEN $6 = '' THEN NULL WHEN $9 OR next_load_at IS NULL THEN $10
                                          ELSE next_load_at END,
                      last_digest = CASE WHEN $9 THEN '' ELSE last_digest END
               WHERE id = $1""",
            order_id, inp.name, inp.customer_id, inp.script, inp.status, inp.source_url, inp.reload_minutes,
            inp.key_column, source_changed, now)
        await audit.record(conn, user["id"], "order", order_id, "update",
                           audit.diff({f: before[f] for f in _FIELDS}, {f: getattr(inp, f) for f in _FIELDS}))


async def rows(conn: asyncpg.Connection, order_id: int, limit: int, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT r.*, (SELECT count(*) FROM calls k WHERE k.order_id = r.order_id
                        AND (k.called_normalized = r.phone_normalized OR k.caller_normalized = r.phone_normalized))
                       AS calls
           FROM order_rows r WHERE r.order_id = $1
           ORDER BY r.removed_at IS NOT NULL, r.id LIMIT $2 OFFSET $3""", order_id, limit, offset)


async def count_rows(conn: asyncpg.Connection, order_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM order_rows WHERE order_id = $1", order_id)


async def row(conn: asyncpg.Connection, order_id: int, row_id: int) -> asyncpg.Record:
    found = await conn.fetchrow("SELECT * FROM order_rows WHERE id = $1 AND order_id = $2", row_id, order_id)
    if found is None:
        raise NotFound(_("no such row in this order"))
    return found


async def calls(conn: asyncpg.Connection, order_id: int, visible: tuple[str, list],
                limit: int = 50) -> list[asyncpg.Record]:
    """The order's calls the user may see: `visible` is the call rules' condition over calls c with its
    parameters from $1 (web/call_rules.visible)."""
    return await calls_q.linked_calls(conn, "order_id", order_id, visible, limit)


async def sms(conn: asyncpg.Connection, order_id: int, user: Mapping, limit: int = 50) -> list[asyncpg.Record]:
    """The order's SMS the user may see (crm/sms/listing.visibility)."""
    args: list = [order_id, limit]

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    return await conn.fetch(
        f"""SELECT m.id, m.created_at, m.phone, m.body, m.status, u.full_name AS author_name
            FROM sms_messages m LEFT JOIN users u ON u.id = m.user_id
            LEFT JOIN counterparties cp ON cp.id = m.counterparty_id
            WHERE m.order_id = $1 AND ({sms_listing.visibility(user, p)}) ORDER BY m.id DESC LIMIT $2""", *args)


async def customers_to_choose(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name FROM customers WHERE deleted_at IS NULL ORDER BY lower(name), id")
