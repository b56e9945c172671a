"""Click-to-call from an order's row (issue 22, H9): the user's phone rings, then the row's number through
the trunk, and the call's row links to the order (calls.order_id); the order's page lists the call."""

from crm.orders import customers, loader
from crm.orders.loader import Parsed, Row
from tests.click_to_call_support import call_from_button
from tests.helpers import login, make_user


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
    call = await call_from_button(db, web, app, tmp_path, f"/orders/{order_id}/rows/{row_id}/call", "order_id", order_id)
    assert call["caller_user_id"] == ivanova["id"]
    assert call["direction"] == "outgoing"
    page = web.get(f"/orders/{order_id}").text
    assert f'data-id="{call["id"]}"' in page
