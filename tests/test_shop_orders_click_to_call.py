"""Click-to-call from a shop order (issue 24, K1 / seed 002): the user's phone rings, then the buyer's number
through the trunk, and the call's row links to the shop order (calls.shop_order_id); the order's page
lists the call."""

import datetime as dt
import json

from crm.shop_orders import loader
from crm.shop_orders import sources as shop_sources
from tests.click_to_call_support import call_from_button
from tests.helpers import login, make_user
from tests.shop_orders_support import woo_order


async def test_a_call_from_a_shop_order_links_to_it(db, web, start_stasis_app, tmp_path):
    ivanova = await make_user(db, "ivanova", "operator", full_name="Irina Ivanova", extension="102")
    now = dt.datetime.now(dt.UTC)
    async with db.acquire() as conn:
        source_id = await shop_sources.save(conn, ivanova["id"], None, shop_sources.SourceInput(
            name="Lavka", kind="webhook", secret="s"), now)
        source = await conn.fetchrow("SELECT * FROM shop_sources WHERE id = $1", source_id)
        await loader.load_body(conn, source, json.dumps([woo_order(727, phone="8 495 123-45-67")]).encode(),
                               region="RU", now=now, timezone="Europe/Moscow")
        order_id = await conn.fetchval("SELECT id FROM shop_orders WHERE phone_normalized = '+74951234567'")
    assert order_id is not None
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    login(web, "ivanova")
    call = await call_from_button(db, web, app, tmp_path, f"/shop-orders/{order_id}/call", "shop_order_id", order_id)
    assert call["caller_user_id"] == ivanova["id"]
    assert call["direction"] == "outgoing"
    page = web.get(f"/shop-orders/{order_id}").text
    assert f'data-id="{call["id"]}"' in page
