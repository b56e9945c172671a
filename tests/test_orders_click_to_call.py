"""Click-to-call from an order's row (issue 22, H9): the user's phone rings, then the row's number through
the trunk, and the call's row links to the order (calls.order_id); the order's page lists the call."""

from crm.orders import customers, loader
from crm.orders.loader import Parsed, Row
from tests.helpers import login, make_user
from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, wait_for


async def _dialing(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_requests WHERE status = 'dialing'")


async def _ended_call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL")


async def test_a_call_from_an_order_row_links_to_the_order(db, web, start_stasis_app, tmp_path):
    ivanova = await make_user(db, "ivanova", "operator", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        customer_id = await customers.save(conn, ivanova["id"], None, "Romashka")
        order_id = await conn.fetchval("INSERT INTO orders (customer_id, name) VALUES ($1, 'Survey') RETURNING id",
                                       customer_id)
        await loader.store(conn, order_id, Parsed(rows=[Row(key="1", phone="8 495 123-45-67",
                                                            normalized="+74951234567", name="Sokolov", data={})]))
        row_id = await conn.fetchval("SELECT id FROM order_rows WHERE order_id = $1", order_id)
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    login(web, "ivanova")
    async with SippPhone("102", "phone_answer.xml", tmp_path), \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        r = web.post(f"/orders/{order_id}/rows/{row_id}/call", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                     follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?notice=calling")
        dialing = await wait_for(lambda: _dialing(db), timeout=10)
        assert dialing is not None and dialing["order_id"] == order_id, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        assert await ari_delete(f"/channels/{dialing['channel_id']}") == 204  # the user hangs up
        call = await wait_for(lambda: _ended_call(db))
    assert call is not None, app.log_text()
    assert call["order_id"] == order_id and call["caller_user_id"] == ivanova["id"]
    assert call["direction"] == "outgoing"
    page = web.get(f"/orders/{order_id}").text
    assert f'data-id="{call["id"]}"' in page
