"""Shop orders written (issue 24, K1): each keyed by (source, the shop's id), so a re-sent order updates
its row and never duplicates it; an order sent again unchanged (the same digest) changes nothing. A new
or changed order: its buyer matched to a card by phone or e-mail (crm/shop_orders/model.match; a new
client card when nobody has them, the new phone or e-mail learned on the card found), its lines
replaced, a status-history row when its status, payment or cancellation changed; a new one runs its
source's rule (tell the manager, a "confirm the order by phone" task: crm/shop_orders/rules.py).

Each order is written in its own savepoint: one that cannot be written is counted with its problem and
holds up none of the others. Nothing is lost: an order with an unreadable phone is kept with its problem.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import asyncpg

from crm import audit
from crm.counterparties import queries as cq
from crm.counterparties.contacts import InvalidContact, normalize_contact
from crm.counterparties.model import CounterpartyInput
from crm.i18n import _
from crm.shop_orders import rules
from crm.shop_orders.model import Incoming, digest, is_open, match, new_card_name, read_phone

log = logging.getLogger(__name__)


async def _owner(conn: asyncpg.Connection, normalized: str | None) -> int | None:
    if not normalized:
        return None
    return await conn.fetchval(
        """SELECT k.counterparty_id FROM contacts k JOIN counterparties c ON c.id = k.counterparty_id
           WHERE k.normalized = $1 AND coalesce(k.extension, '') = '' AND k.deleted_at IS NULL AND c.deleted_at IS NULL
           ORDER BY k.id LIMIT 1""", normalized)


async def _free(conn: asyncpg.Connection, normalized: str) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM contacts WHERE normalized = $1 AND deleted_at IS NULL)",
                                   normalized)


async def _card(conn: asyncpg.Connection, source: Mapping, order: Incoming, phone: str | None, email: str,
                current: int | None) -> int:
    """The card the order goes on (made when new), having learned the order's phone and e-mail if free."""
    decision = match(phone=phone, email=email, phone_owner=await _owner(conn, phone),
                     email_owner=await _owner(conn, email), current=current)
    card = decision.counterparty_id
    why = {"shop_order": [None, f"{source['name']} {order.number or order.external_id}"]}
    if card is None:
        last, first = new_card_name(order)
        card = await cq.insert_counterparty(conn, CounterpartyInput(
            kind="client", last_name=last, first_name=first, responsible_user_id=source["manager_user_id"]), None)
        await audit.record(conn, None, "counterparty", card, "create",
                           {"last_name": [None, last], "first_name": [None, first], **why})
        if order.address:
            await cq.insert_address(conn, card, order.address)
    for kind, value, normalized, wanted in (("phone", order.phone, phone, decision.learn_phone),
                                            ("email", order.email, email, decision.learn_email)):
        if wanted and normalized and await _free(conn, normalized):
            await cq.insert_contact(conn, card, kind, value[:300], normalized, "", None, auto_added=True)
            await audit.record(conn, None, "counterparty", card, "learn from shop order", {kind: [None, value], **why})
    return card


def _email(raw: str, region: str) -> tuple[str, str]:
    if not raw.strip():
        return "", ""
    try:
        return normalize_contact("email", raw, region), ""
    except InvalidContact as e:
        return "", str(e)


async def _write(conn: asyncpg.Connection, source: Mapping, order: Incoming, before: Mapping | None, *,
                 region: str, now: dt.datetime) -> int:
    phone, phone_problem = read_phone(order.phone, region)
    email, email_problem = _email(order.email, region)
    problem = "; ".join(p for p in (order.problem, phone_problem, email_problem) if p)[:1000]
    current = before["counterparty_id"] if before else None
    card = await _card(conn, source, order, phone, email, current)
    order_id = await conn.fetchval(
        """INSERT INTO shop_orders AS o (source_id, external_id, number, status, is_open, total, currency, paid,
                  paid_at, cancelled, ordered_at, customer_name, phone, phone_normalized, email, address, problem,
                  counterparty_id, digest)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
           ON CONFLICT (source_id, external_id) DO UPDATE SET
               number = EXCLUDED.number, status = EXCLUDED.status, is_open = EXCLUDED.is_open,
               total = EXCLUDED.total, currency = EXCLUDED.currency, paid = EXCLUDED.paid, paid_at = EXCLUDED.paid_at,
               cancelled = EXCLUDED.cancelled, ordered_at = EXCLUDED.ordered_at,
               customer_name = EXCLUDED.customer_name, phone = EXCLUDED.phone,
               phone_normalized = EXCLUDED.phone_normalized, email = EXCLUDED.email, address = EXCLUDED.address,
               problem = EXCLUDED.problem, counterparty_id = coalesce(o.counterparty_id, EXCLUDED.counterparty_id),
               digest = EXCLUDED.digest, updated_at = $20
           RETURNING id""",
        source["id"], order.external_id, order.number, order.status, is_open(order.status, order.cancelled),
        order.total, order.currency, order.paid, order.paid_at, order.cancelled, order.ordered_at,
        order.customer_name[:400], order.phone[:100], phone, order.email[:254], order.address[:1000], problem,
        card, digest(order), now)
    await conn.execute("DELETE FROM shop_order_lines WHERE shop_order_id = $1", order_id)
    if order.lines:
        lines = order.lines
        await conn.execute(
            """INSERT INTO shop_order_lines (shop_order_id, position, name, sku, quantity, price, total)
               SELECT $1, n.position, n.name, n.sku, n.quantity, n.price, n.total
               FROM unnest($2::int[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], $7::numeric[])
                    AS n (position, name, sku, quantity, price, total)""",
            order_id, list(range(1, len(lines) + 1)), [line.name for line in lines], [line.sku for line in lines],
            [line.quantity for line in lines], [line.price for line in lines], [line.total for line in lines])
    state = (order.status, order.paid, order.cancelled)
    if before is None or (before["status"], before["paid"], before["cancelled"]) != state:
        await conn.execute(
            "INSERT INTO shop_order_status_history (shop_order_id, status, paid, cancelled, at) VALUES ($1, $2, $3, $4, $5)",
            order_id, *state, now)
    return order_id


async def save_orders(conn: asyncpg.Connection, source: Mapping, orders: Sequence[Incoming], *, region: str,
                      now: dt.datetime, zone: dt.tzinfo) -> dict[str, int]:
    """Write the orders of one delivery; the counts of what changed ("failed": orders that could not be
    written, each logged)."""
    latest: dict[str, Incoming] = {}
    for order in orders:
        latest[order.external_id] = order  # an order twice in one file: its last state
    stored = {r["external_id"]: r for r in await conn.fetch(
        """SELECT id, external_id, digest, status, paid, cancelled, counterparty_id FROM shop_orders
           WHERE source_id = $1 AND external_id = ANY($2::text[])""", source["id"], list(latest))}
    counts = {"orders": len(latest), "added": 0, "changed": 0, "unchanged": 0, "status_changes": 0, "problems": 0,
              "failed": 0}
    for external_id, order in latest.items():
        before = stored.get(external_id)
        if before is not None and before["digest"] == digest(order):
            counts["unchanged"] += 1
            continue
        try:
            async with conn.transaction():
                order_id = await _write(conn, source, order, before, region=region, now=now)
                if before is None:
                    await rules.new_order(conn, source, order_id, now=now, zone=zone)
        except (asyncpg.PostgresError, ValueError) as e:
            counts["failed"] += 1
            log.warning("shop source %s: order %s not written: %s", source["id"], external_id, e)
            continue
        counts["added" if before is None else "changed"] += 1
        if before is not None and (before["status"], before["paid"], before["cancelled"]) != (
                order.status, order.paid, order.cancelled):
            counts["status_changes"] += 1
        if order.problem or (order.phone and read_phone(order.phone, region)[0] is None):
            counts["problems"] += 1
    log.info("shop source %s: %s", source["id"], counts)
    return counts


def outcome_text(counts: Mapping[str, int], skipped: Sequence[str] = ()) -> str:
    """The words shown on the source when some orders could not be taken ('' when all were)."""
    parts = list(skipped[:5])
    if counts.get("failed"):
        parts.append(_("%(num)d orders could not be written") % {"num": counts["failed"]})
    return "; ".join(parts)[:1000]
