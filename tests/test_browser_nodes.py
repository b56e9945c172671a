"""The wallboard's PBX node banner in Chromium (issue 26): on the open board, a node's loss shows within
a couple of seconds of its word and goes when it is up again; a node that falls silent shows too."""

from __future__ import annotations

from crm.nodes import queries as nodes_q
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user

BANNER = "#wallboard #wallboard-nodes"


async def test_an_open_wallboard_shows_a_node_down_and_drops_it_when_it_is_up(db, web_server, chromium):
    async with db.acquire() as conn:
        await nodes_q.say(conn, "a", "http://10.0.0.11:8088", True, 0)
        await nodes_q.say(conn, "b", "http://10.0.0.12:8088", True, 0)
    await make_user(db, "sue", "supervisor", full_name="Sue Supervisor")
    page = await logged_in_page(chromium, web_server.url, "sue", PASSWORD)
    await page.goto(web_server.url + "/wallboard")
    await page.wait_for_selector("#wallboard-status:not(.wb-offline) .wb-connection:text('live')")
    assert await page.locator(BANNER).count() == 0

    async with db.acquire() as conn:
        await nodes_q.say(conn, "b", "http://10.0.0.12:8088", False, 0)
    alert = page.locator(f'{BANNER} .wb-node-alert[data-node="b"]')
    await alert.wait_for(timeout=3000)
    text = await alert.inner_text()
    assert "PBX node b is down since" in text and "its Asterisk does not answer" in text, text
    assert await page.locator(f'{BANNER} [data-node="a"]').count() == 0

    async with db.acquire() as conn:
        await nodes_q.say(conn, "b", "http://10.0.0.12:8088", True, 0)
    await page.locator(BANNER).wait_for(state="detached", timeout=3000)

    # a's app stops speaking: no NOTIFY, the web's look every few seconds finds it silent.
    async with db.acquire() as conn:
        await conn.execute("UPDATE pbx_nodes SET seen_at = seen_at - interval '30 seconds' WHERE name = 'a'")
    silent = page.locator(f'{BANNER} .wb-node-alert[data-node="a"][data-state="silent"]')
    await silent.wait_for(timeout=8000)
    assert "PBX node a is silent since" in await silent.inner_text()
