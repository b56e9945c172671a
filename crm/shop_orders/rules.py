"""What a new shop order sets off (issue 24, K1), by its source's rule (set by the admin): a notice to the
responsible manager, and a task "confirm the order by phone" of the chosen type, due in N minutes.

The manager is the card's responsible manager, else the source's. Nobody to tell: nothing is made (the
order is on the card and in the list all the same). Both are written in the manager's language."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

import asyncpg

from crm import i18n, notifications
from crm.i18n import _
from crm.shop_orders.model import task_deadline

log = logging.getLogger(__name__)


def manager_of(card_manager: int | None, source_manager: int | None) -> int | None:
    return card_manager or source_manager


async def new_order(conn: asyncpg.Connection, source: Mapping, order_id: int, *, now: dt.datetime,
                    zone: dt.tzinfo) -> None:
    if not (source["notify_manager"] or (source["make_task"] and source["task_type_id"])):
        return
    order = await conn.fetchrow(
        """SELECT o.id, o.number, o.external_id, o.counterparty_id, o.customer_name, o.total, o.currency,
                  c.responsible_user_id
           FROM shop_orders o LEFT JOIN counterparties c ON c.id = o.counterparty_id WHERE o.id = $1""", order_id)
    manager = manager_of(order["responsible_user_id"], source["manager_user_id"])
    if manager is None:
        log.info("shop order %d: nobody to tell (no manager on the card or the source)", order_id)
        return
    number = order["number"] or order["external_id"]
    with i18n.using(await notifications.recipient_language(conn, manager)):
        if source["notify_manager"]:
            title = _("New order %(number)s from %(shop)s") % {"number": number, "shop": source["name"]}
            body = " ".join(f"{order['customer_name']} {order['total'] or ''} {order['currency']}".split())
            await notifications.queue(conn, manager, "shop_order", title, body, f"/shop-orders/{order_id}")
        if source["make_task"] and source["task_type_id"]:
            day, time = task_deadline(now, source["task_due_minutes"], zone)
            task_id = await conn.fetchval(
                """INSERT INTO tasks (title, type_id, responsible_user_id, counterparty_id, deadline_date,
                                      deadline_time, shop_order_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
                _("Confirm order %(number)s by phone") % {"number": number}, source["task_type_id"], manager,
                order["counterparty_id"], day, time, order_id)
            log.info("shop order %d: task %d for user %d", order_id, task_id, manager)
