"""Shop orders written (issue 24, K1): each keyed by (source, the shop's id), so a re-sent order updates
its row and never duplicates it; an order sent again unchanged (the same digest) changes nothing. A new
or changed order: its buyer matched to a card by phone or e-mail (crm/shop_orders/model.match; a new
client card when nobody has them - one card for one buyer's several orders in a delivery - and the new
phone or e-mail learned on the card found, each audited), its lines replaced, a status-history row when
its status, payment or cancellation changed; a new one runs its source's rule (crm/shop_orders/rules.py).

A delivery's changed orders are written together, a statement per step for all of them (a 1C export of
thousands of orders takes seconds). Should that fail, each order is written alone in its own savepoint:
one that cannot be written is counted and logged, and holds up none of the others. Nothing is lost: an
order with an unreadable phone is kept with its problem."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.counterparties.contacts import InvalidContact, normalize_contact
from crm.i18n import _
from crm.shop_orders import rules
from crm.shop_orders.model import Incoming, digest, is_open, match, new_card_name, read_phone

log = logging.getLogger(__name__)


@dataclass
class _Prepared:
    order: Incoming
    phone: str | None
    email: str
    problem: str
    before: Mapping | None
    card: int | tuple[str, int] | None = None  # an id, or ("new", n): the n-th card made in this delivery


def _email(raw: str, region: str) -> tuple[str, str]:
    if not raw.strip():
        return "", ""
    try:
        return normalize_contact("email", raw, region), ""
    except InvalidContact as e:
        return "", str(e)


def _prepare(order: Incoming, before: Mapping | None, region: str) -> _Prepared:
    phone, phone_problem = read_phone(order.phone, region)
    email, email_problem = _email(order.email, region)
    problem = "; ".join(p for p in (order.problem, phone_problem, email_problem) if p)[:1000]
    return _Prepared(order, phone, email, problem, before)


async def _audit_rows(conn: asyncpg.Connection, rows: list[tuple[int, str, dict]]) -> None:
    """(card id, action, changes) rows of the system's changes to cards, in one statement."""
    if not rows:
        return
    await conn.execute(
        """INSERT INTO audit_log (user_id, entity, entity_id, action, changes, address)
           SELECT NULL, 'counterparty', n.id, n.action, n.changes::jsonb, $4::inet
           FROM unnest($1::bigint[], $2::text[], $3::text[]) AS n (id, action, changes)""",
        [r[0] for r in rows], [r[1] for r in rows],
        [json.dumps(audit.masked(audit.canonical(r[1], r[2])), default=str, ensure_ascii=False) for r in rows],
        audit.current_address())


async def _cards(conn: asyncpg.Connection, source: Mapping, items: list[_Prepared]) -> None:
    """Each item's card: found by phone or e-mail, else made; the phones and e-mails nobody has learned."""
    keys = sorted({k for i in items for k in (i.phone, i.email) if k})
    owners: dict[str, int | tuple[str, int]] = {r["normalized"]: r["counterparty_id"] for r in await conn.fetch(
        """SELECT DISTINCT ON (k.normalized) k.normalized, k.counterparty_id
           FROM contacts k JOIN counterparties c ON c.id = k.counterparty_id
           WHERE k.normalized = ANY($1::text[]) AND coalesce(k.extension, '') = '' AND k.deleted_at IS NULL
             AND c.deleted_at IS NULL ORDER BY k.normalized, k.id""", keys)}
    taken = {r["normalized"] for r in await conn.fetch(
        """SELECT normalized FROM contacts WHERE normalized = ANY($1::text[]) AND coalesce(extension, '') = ''
           AND deleted_at IS NULL""", keys)}
    new_cards: list[_Prepared] = []
    learned: list[tuple[_Prepared, str, str, str]] = []  # (item, kind, value, normalized)
    for item in items:
        decision = match(phone=item.phone, email=item.email, phone_owner=owners.get(item.phone or ""),
                         email_owner=owners.get(item.email),
                         current=item.before["counterparty_id"] if item.before else None)
        card = decision.counterparty_id
        if card is None:
            card = ("new", len(new_cards))
            new_cards.append(item)
        item.card = card
        for kind, value, key, wanted in (("phone", item.order.phone, item.phone, decision.learn_phone),
                                         ("email", item.order.email, item.email, decision.learn_email)):
            if wanted and key and key not in taken:
                taken.add(key)
                owners[key] = card
                learned.append((item, kind, value[:300], key))
    ids = [r[0] for r in await conn.fetch("SELECT nextval('counterparties_id_seq') FROM generate_series(1, $1)",
                                          len(new_cards))]
    names = [new_card_name(i.order) for i in new_cards]
    if new_cards:
        await conn.execute(
            """INSERT INTO counterparties (id, kind, last_name, first_name, responsible_user_id)
               SELECT n.id, 'client', n.last_name, n.first_name, $4 FROM unnest($1::bigint[], $2::text[], $3::text[])
                   AS n (id, last_name, first_name)""",
            ids, [n[0] for n in names], [n[1] for n in names], source["manager_user_id"])
        with_address = [(card_id, i.order.address) for card_id, i in zip(ids, new_cards) if i.order.address]
        if with_address:
            await conn.execute("INSERT INTO addresses (counterparty_id, address) SELECT * FROM unnest($1::bigint[], "
                               "$2::text[])", [a[0] for a in with_address], [a[1][:1000] for a in with_address])
    for item in items:
        if isinstance(item.card, tuple):
            item.card = ids[item.card[1]]
    rows = [(ids[n], "create", {"last_name": names[n][0], "first_name": names[n][1], **_why(source, i.order)})
            for n, i in enumerate(new_cards)]
    if learned:
        await conn.execute(
            """INSERT INTO contacts (counterparty_id, kind, value, normalized, auto_added)
               SELECT n.id, n.kind, n.value, n.normalized, true
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS n (id, kind, value, normalized)""",
            [_resolved(owners[key], ids) for _i, _k, _v, key in learned], [x[1] for x in learned],
            [x[2] for x in learned], [x[3] for x in learned])
        rows += [(_resolved(owners[key], ids), "learn from shop order", {kind: value, **_why(source, item.order)})
                 for item, kind, value, key in learned]
    await _audit_rows(conn, rows)


def _resolved(card: int | tuple[str, int], ids: list[int]) -> int:
    return ids[card[1]] if isinstance(card, tuple) else card


def _why(source: Mapping, order: Incoming) -> dict:
    return {"shop_order": f"{source['name']} {order.number or order.external_id}"}


async def _write(conn: asyncpg.Connection, source: Mapping, items: list[_Prepared],
                 now: dt.datetime) -> list[tuple[int, bool]]:
    """The items' orders, lines and history written; their ids, in the items' order."""
    await _cards(conn, source, items)
    orders = [i.order for i in items]

    def col(f):
        return [f(i) for i in items]

    rows = await conn.fetch(
        """INSERT INTO shop_orders AS o (source_id, external_id, number, status, is_open, total, currency, paid,
                  paid_at, cancelled, ordered_at, customer_name, phone, phone_normalized, email, address, problem,
                  counterparty_id, digest, modified_at, updated_at)
           SELECT $1, n.* , $20::timestamptz FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[],
                  $6::numeric[], $7::text[], $8::boolean[], $9::timestamptz[], $10::boolean[], $11::timestamptz[],
                  $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::bigint[],
                  $19::text[], $21::timestamptz[]) AS n
           ON CONFLICT (source_id, external_id) DO UPDATE SET
               number = EXCLUDED.number, status = EXCLUDED.status, is_open = EXCLUDED.is_open,
               total = EXCLUDED.total, currency = EXCLUDED.currency, paid = EXCLUDED.paid, paid_at = EXCLUDED.paid_at,
               cancelled = EXCLUDED.cancelled, ordered_at = EXCLUDED.ordered_at,
               customer_name = EXCLUDED.customer_name, phone = EXCLUDED.phone,
               phone_normalized = EXCLUDED.phone_normalized, email = EXCLUDED.email, address = EXCLUDED.address,
               problem = EXCLUDED.problem, counterparty_id = coalesce(o.counterparty_id, EXCLUDED.counterparty_id),
               digest = EXCLUDED.digest, modified_at = EXCLUDED.modified_at, updated_at = EXCLUDED.updated_at
           RETURNING id, external_id, (xmax = 0) AS inserted""",
        source["id"], [o.external_id for o in orders], [o.number for o in orders], [o.status for o in orders],
        [is_open(o.status, o.cancelled) for o in orders], [o.total for o in orders], [o.currency for o in orders],
        [o.paid for o in orders], [o.paid_at for o in orders], [o.cancelled for o in orders],
        [o.ordered_at for o in orders], [o.customer_name[:400] for o in orders], [o.phone[:100] for o in orders],
        col(lambda i: i.phone), [o.email[:254] for o in orders], [o.address[:1000] for o in orders],
        col(lambda i: i.problem), col(lambda i: i.card), [digest(o) for o in orders], now,
        [o.modified_at for o in orders])
    # Whether the row was inserted by this statement (xmax 0), not whether it was there when read above: a
    # shop's order.created and order.updated a moment apart both read "new", and only one inserts.
    by_key = {r["external_id"]: (r["id"], r["inserted"]) for r in rows}
    ids = [by_key[o.external_id][0] for o in orders]
    await conn.execute("DELETE FROM shop_order_lines WHERE shop_order_id = ANY($1::bigint[])", ids)
    lines = [(order_id, n, line) for order_id, o in zip(ids, orders) for n, line in enumerate(o.lines, start=1)]
    if lines:
        await conn.execute(
            """INSERT INTO shop_order_lines (shop_order_id, position, name, sku, quantity, price, total)
               SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],
                                    $7::numeric[])""",
            [x[0] for x in lines], [x[1] for x in lines], [x[2].name for x in lines], [x[2].sku for x in lines],
            [x[2].quantity for x in lines], [x[2].price for x in lines], [x[2].total for x in lines])
    moved = [(order_id, i.order) for order_id, i in zip(ids, items) if _state_changed(i)]
    if moved:
        await conn.execute(
            """INSERT INTO shop_order_status_history (shop_order_id, status, paid, cancelled, at)
               SELECT n.*, $5::timestamptz FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::boolean[]) AS n""",
            [m[0] for m in moved], [m[1].status for m in moved], [m[1].paid for m in moved],
            [m[1].cancelled for m in moved], now)
    return [by_key[o.external_id] for o in orders]


def _older(order: Incoming, stored: Mapping) -> bool:
    """Pure: the delivery says the shop changed the order before the stored state was (a retried webhook
    arriving after a newer one): it is not taken. Without the shop's times, the later delivery wins."""
    return order.modified_at is not None and stored["modified_at"] is not None \
        and order.modified_at < stored["modified_at"]


def _state_changed(item: _Prepared) -> bool:
    o, before = item.order, item.before
    return before is None or (before["status"], before["paid"], before["cancelled"]) != (o.status, o.paid, o.cancelled)


async def save_orders(conn: asyncpg.Connection, source: Mapping, orders: Sequence[Incoming], *, region: str,
                      now: dt.datetime, zone: dt.tzinfo) -> dict[str, int]:
    """Write the orders of one delivery; the counts of what changed ("failed": orders that could not be
    written, each logged)."""
    latest: dict[str, Incoming] = {}
    for order in orders:
        latest[order.external_id] = order  # an order twice in one file: its last state
    stored = {r["external_id"]: r for r in await conn.fetch(
        """SELECT id, external_id, digest, status, paid, cancelled, counterparty_id, modified_at FROM shop_orders
           WHERE source_id = $1 AND external_id = ANY($2::text[])""", source["id"], list(latest))}
    stale = {key for key, o in latest.items() if key in stored and _older(o, stored[key])}
    items = [_prepare(o, stored.get(key), region) for key, o in latest.items()
             if key not in stale and (key not in stored or stored[key]["digest"] != digest(o))]
    counts = {"orders": len(latest), "added": 0, "changed": 0, "unchanged": len(latest) - len(items) - len(stale),
              "stale": len(stale), "status_changes": 0, "problems": 0, "failed": 0}
    written: list[tuple[_Prepared, tuple[int, bool]]] = []
    try:
        async with conn.transaction():
            written = list(zip(items, await _write(conn, source, items, now))) if items else []
    except (asyncpg.PostgresError, ValueError) as e:
        log.warning("shop source %s: the delivery's orders are written one by one (%s)", source["id"], e)
        for item in items:
            try:
                async with conn.transaction():
                    written += [(item, (await _write(conn, source, [item], now))[0])]
            except (asyncpg.PostgresError, ValueError) as e:
                counts["failed"] += 1
                log.warning("shop source %s: order %s not written: %s", source["id"], item.order.external_id, e)
    for item, (order_id, inserted) in written:
        counts["added" if inserted else "changed"] += 1
        counts["status_changes"] += item.before is not None and _state_changed(item)
        counts["problems"] += bool(item.problem)
        # The rule is for an order the shop has just taken: new here, and still open (a first sync of a
        # shop's archive makes no task for its finished orders).
        if inserted and is_open(item.order.status, item.order.cancelled):
            try:
                async with conn.transaction():
                    await rules.new_order(conn, source, order_id, now=now, zone=zone)
            except asyncpg.PostgresError as e:  # the order is stored; its notice or task is what is missing
                log.warning("shop order %d: its rule failed: %s", order_id, e)
    log.info("shop source %s: %s", source["id"], counts)
    return counts


def outcome_text(counts: Mapping[str, int], skipped: Sequence[str] = ()) -> str:
    """The words shown on the source when some orders could not be taken ('' when all were)."""
    parts = list(skipped[:5])
    if counts.get("failed"):
        parts.append(_("%(num)d orders could not be written") % {"num": counts["failed"]})
    return "; ".join(parts)[:1000]
