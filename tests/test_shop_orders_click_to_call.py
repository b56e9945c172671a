"""Click-to-call from a shop order (issue 24, K1 / seed 002): the user's phone rings, then the buyer's number
through the trunk, and the call's row links to the shop order (calls.shop_order_id); the order's page
lists the call."""

import datetime as dt
import json

from crm.shop_orders import loader
from crm.shop_orders import sources as shop_sources
from tests.helpers import login, make_user
from tests.shop_orders_support import woo_order
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, wait_for


async def _dialing(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_requests WHERE status = 'dialing'")


async def _ended_call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL")


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
    async with SippPhone("102", "phone_answer.xml", tmp_path), \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        r = web.post(f"/shop-orders/{order_id}/call", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                     follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?notice=calling")
        dialing = await wait_for(lambda: _dialing(db), timeout=10)
        assert dialing is not None and dialing["shop_order_id"] == order_id, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        assert await ari_delete(f"/channels/{dialing['channel_id']}") == 204  # the user hangs up
        call = await wait_for(lambda: _ended_call(db))
    assert call is not None, app.log_text()
    assert call["shop_order_id"] == order_id and call["caller_user_id"] == ivanova["id"]
    assert call["direction"] == "outgoing"
    page = web.get(f"/shop-orders/{order_id}").text
    assert f'data-id="{call["id"]}"' in page
