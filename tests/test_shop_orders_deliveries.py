"""Shop orders' deliveries that race or come late (issue 24): two deliveries of a new order at once run
the new-order rule once; an order finished on arrival makes no task; a retried older delivery changes
nothing; a blank id is no order and lone surrogates are dropped."""

import json
import zoneinfo

from crm.shop_orders.woocommerce import signature
from tests.helpers import make_user
from tests.shop_orders_support import NOW, add_source, stored_orders, woo_order, woo_request


async def test_two_deliveries_at_once_make_one_task_and_a_finished_order_none(db):
    """WooCommerce sends order.created and order.updated a moment apart: both read the order as new, one
    inserts it, and only that one runs the rule. An order already finished when it first arrives (a first
    sync of the shop's archive) makes no task."""
    import asyncio

    from crm.shop_orders import store
    from crm.shop_orders.woocommerce import order_of

    manager = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova")
    await make_user(db, "admin", "admin")
    async with db.acquire() as conn:
        type_id = await conn.fetchval("SELECT id FROM task_types WHERE NOT is_deal ORDER BY id LIMIT 1")
    source = await add_source(db, "webhook", secret="s", manager_user_id=manager["id"], notify_manager=True,
                           make_task=True, task_type_id=type_id, task_due_minutes=45)
    zone = zoneinfo.ZoneInfo("Europe/Moscow")

    async def deliver(order):
        async with db.acquire() as conn:
            return await store.save_orders(conn, source, [order_of(order)], region="RU", now=NOW, zone=zone)

    for _ in range(5):  # the two interleave differently from run to run: a few rounds, each a new order
        async with db.acquire() as conn:
            number = 100 + await conn.fetchval("SELECT count(*) FROM shop_orders")
        first, second = await asyncio.gather(deliver(woo_order(number)), deliver(woo_order(number, status="on-hold")))
        assert first["added"] + second["added"] == 1, (first, second)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM shop_orders") == 5
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE shop_order_id IS NOT NULL") == 5
        await deliver(woo_order(200, status="completed"))
        assert await conn.fetchval("SELECT count(*) FROM shop_orders") == 6
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE shop_order_id IS NOT NULL") == 5


async def test_a_blank_id_is_no_order_and_a_lone_surrogate_is_dropped(db, web):
    await make_user(db, "admin", "admin")
    source = await add_source(db, "webhook", secret="s")
    for blank in (" ", "\u0000"):
        body = ('{"id": "%s", "status": "processing"}' % blank).encode()
        r = web.post(f"/shop-orders/webhook/{source['key']}", content=body,
                     headers={"content-type": "application/json", "x-wc-webhook-topic": "order.created",
                              "x-wc-webhook-signature": signature("s", body)})
        assert r.status_code == 400, (blank, r.status_code, r.text)
    order = woo_order(31)
    order["billing"]["first_name"] = "An\ud800na"
    body = json.dumps(order).encode()  # ascii JSON: the surrogate travels as \ud800, as a shop may send it
    r = web.post(f"/shop-orders/webhook/{source['key']}", content=body,
                 headers={"content-type": "application/json", "x-wc-webhook-topic": "order.created",
                          "x-wc-webhook-signature": signature("s", body)})
    assert r.status_code == 200, r.text
    [stored] = await stored_orders(db)
    assert stored["external_id"] == "31" and "An" in stored["customer_name"]


async def test_a_late_retry_of_an_older_delivery_changes_nothing(db, web):
    """WooCommerce retries a failed delivery later: an older state arriving after a newer one is not taken
    (date_modified_gmt), so the status does not roll back and no false history row is written."""
    await make_user(db, "admin", "admin")
    source = await add_source(db, "webhook", secret="s")

    def send(status: str, modified: str):
        order = woo_order(55, status=status)
        order["date_modified_gmt"] = modified
        body, headers = woo_request(order, "s", "order.updated")
        r = web.post(f"/shop-orders/webhook/{source['key']}", content=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    send("processing", "2026-11-30T12:11:00")
    send("completed", "2026-11-30T14:00:00")
    late = send("on-hold", "2026-11-30T13:00:00")  # sent between the two, delivered last
    assert late["changed"] == 0 and late["added"] == 0
    [order] = await stored_orders(db)
    async with db.acquire() as conn:
        history = [r["status"] for r in await conn.fetch(
            "SELECT status FROM shop_order_status_history WHERE shop_order_id = $1 ORDER BY id", order["id"])]
    assert order["status"] == "completed" and history == ["processing", "completed"]
