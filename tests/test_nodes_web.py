"""The PBX nodes (issue 26): a node's word in pbx_nodes (crm/nodes/queries.say, which the ari side
calls), the Nodes page for supervisors and admins, and the wallboard's banner while a node is not up,
live on an open board: at a node's NOTIFY, and at the hub's look every few seconds for a silent one."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import aiohttp
import pytest

from crm.nodes import CHANNEL
from crm.nodes import queries as nodes_q
from tests.helpers import PASSWORD, csrf_from, login, make_user
from tests.test_wallboard import _board_events


async def say(db, name: str, connected: bool, calls: int = 0, url: str = ""):
    async with db.acquire() as conn:
        return await nodes_q.say(conn, name, url or f"http://pbx-{name}.lan:8088", connected, calls)


async def _age(db, name: str, seconds: float) -> None:
    """The node's last word (and its changes) `seconds` earlier, as if it had been that long."""
    async with db.acquire() as conn:
        await conn.execute(
            """UPDATE pbx_nodes SET seen_at = seen_at - make_interval(secs => $2),
                                    up_since = up_since - make_interval(secs => $2),
                                    down_since = down_since - make_interval(secs => $2) WHERE name = $1""",
            name, seconds)


# ---- the word: crm/nodes/queries.say ----

async def test_a_nodes_word_keeps_when_it_went_up_and_down(db):
    first = await say(db, "a", True, 2)
    assert first.connected and first.up_since == first.seen_at and first.down_since is None
    assert first.calls_now == 2 and first.ari_url == "http://pbx-a.lan:8088"
    await _age(db, "a", 10)
    again = await say(db, "a", True, 5)
    assert again.up_since == first.up_since - dt.timedelta(seconds=10), "still up: unchanged"
    assert again.seen_at > again.up_since and again.calls_now == 5
    lost = await say(db, "a", False, 0)
    assert lost.down_since == lost.seen_at and lost.up_since == again.up_since, "up_since kept: when it was up"
    await _age(db, "a", 3)
    still = await say(db, "a", False, 0)
    assert still.down_since == lost.down_since - dt.timedelta(seconds=3), "still down"
    back = await say(db, "a", True, 1)
    assert back.up_since == back.seen_at and back.down_since == still.down_since
    down_first = await say(db, "b", False, 0)
    assert down_first.down_since == down_first.seen_at and down_first.up_since is None


async def test_a_word_after_a_silence_starts_the_state_afresh(db):
    """The app restarted (or its database came back) after more than three heartbeats: its old row
    says nothing of the time between, so the state it reports begins now."""
    await say(db, "a", True)
    await _age(db, "a", 20)
    async with db.acquire() as conn:
        before = await conn.fetchrow("SELECT up_since FROM pbx_nodes WHERE name = 'a'")
    after = await say(db, "a", True)
    assert after.up_since == after.seen_at and after.up_since > before["up_since"]
    await say(db, "a", False)
    await _age(db, "a", 20)
    again = await say(db, "a", False)
    assert again.down_since == again.seen_at, "down again after the silence: down from now"


async def test_a_word_is_notified_with_the_nodes_name_when_it_commits(db):
    heard: asyncio.Queue[str] = asyncio.Queue()

    def hear(_conn, _pid, _channel, payload):
        heard.put_nowait(payload)

    async with db.acquire() as listener:
        await listener.add_listener(CHANNEL, hear)
        async with db.acquire() as conn:
            async with conn.transaction():
                await nodes_q.say(conn, "b", "http://b:8088", False, 0)
                await asyncio.sleep(0.2)
                assert heard.empty(), "not before the commit"
        assert await asyncio.wait_for(heard.get(), 2) == "b"
        await listener.remove_listener(CHANNEL, hear)


async def test_a_bad_name_is_refused_before_the_database(db):
    with pytest.raises(ValueError):
        await say(db, "Node B", True)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pbx_nodes") == 0


def test_the_banners_time_is_todays_clock_or_a_day_and_time():
    from web.formatting import local_clock

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert local_clock(now - dt.timedelta(minutes=5), "Europe/Moscow", "ru", now) == "14:55 MSK"
    assert local_clock(now - dt.timedelta(minutes=5), "Europe/Moscow", "en", now) == "2:55\u202fPM MSK"
    assert local_clock(now - dt.timedelta(days=1), "Europe/Moscow", "ru", now) == "30.11.2026, 15:00 MSK"


# ---- the page ----

async def test_a_supervisor_sees_each_node_its_state_and_since_when(web, db):
    await say(db, "a", True, 3)
    await say(db, "b", True, 1)
    await say(db, "b", False, 0)
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    assert 'href="/pbx-nodes"' in web.get("/clients").text, "in the menu, beside the wallboard"
    page = web.get("/pbx-nodes")
    assert page.status_code == 200
    a = page.text.split('data-node="a"')[1].split("</tr>")[0]
    b = page.text.split('data-node="b"')[1].split("</tr>")[0]
    assert 'data-state="up"' in a and "<b>up</b>" in a and "http://pbx-a.lan:8088" in a
    assert 'class="node-calls">3<' in a
    assert 'data-state="down"' in b and "<b>down</b>" in b and "its Asterisk does not answer" in b
    assert "0:00 ago" in b and "MSK" in b.split('class="node-since"')[1]

    body = web.get("/api/pbx-nodes").json()
    assert (body["heartbeat_seconds"], body["silent_after_seconds"]) == (5, 15)
    nodes = {n["name"]: n for n in body["nodes"]}
    assert list(nodes) == ["a", "b"]
    assert nodes["a"]["state"] == "up" and nodes["a"]["calls_now"] == 3 and nodes["a"]["reason"] == ""
    assert nodes["b"]["state"] == "down" and nodes["b"]["reason"] == "asterisk_lost"
    assert nodes["b"]["since"] and nodes["b"]["seen_at"] and 0 <= nodes["b"]["seconds"] < 5
    asked = web.get("/pbx-nodes", headers={"Accept": "application/json"}).json()
    assert [(n["name"], n["state"]) for n in asked["nodes"]] == [("a", "up"), ("b", "down")]

    await _age(db, "a", 16)  # a's app stopped speaking
    nodes = {n["name"]: n for n in web.get("/api/pbx-nodes").json()["nodes"]}
    assert nodes["a"]["state"] == "silent" and nodes["a"]["reason"] == "app_silent"
    assert "cannot reach the database" in web.get("/pbx-nodes").text


async def test_only_supervisors_and_admins_open_the_nodes_page(web, db):
    await say(db, "a", True)
    for login_name, role in (("olga", "operator"), ("mike", "manager")):
        await make_user(db, login_name, role)
        web.cookies.clear()
        login(web, login_name)
        for path in ("/pbx-nodes", "/api/pbx-nodes"):
            assert web.get(path).status_code == 403, (role, path)
        assert 'href="/pbx-nodes"' not in web.get("/clients").text, "no link for them"
    web.cookies.clear()
    assert web.get("/api/pbx-nodes").status_code in (401, 403)
    await make_user(db, "boss", "admin")
    login(web, "boss")
    assert web.get("/pbx-nodes").status_code == 200 and 'href="/pbx-nodes"' in web.get("/clients").text


async def test_a_centre_with_one_pbx_is_told_where_nodes_come_from(web, db):
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    page = web.get("/pbx-nodes").text
    assert 'id="pbx-nodes-none"' in page and "PBXCRM_NODE" in page and "pbxcrm ari" in page
    assert web.get("/api/pbx-nodes").json()["nodes"] == []
    assert 'id="wallboard-nodes"' not in web.get("/wallboard").text
    assert web.get("/api/wallboard").json()["nodes"] == []


async def test_the_russian_page_speaks_russian(web, db):
    await say(db, "b", False)
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    page = web.get("/pbx-nodes", headers={"Accept-Language": "ru-RU,ru"}).text
    assert "Узлы АТС" in page and "Asterisk не отвечает" in page
    assert "PBX node" not in page and "does not answer" not in page


# ---- the wallboard ----

async def test_the_wallboard_names_a_node_that_is_down_until_it_is_up_again(web, db):
    await say(db, "a", True)
    await say(db, "b", True)
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    assert 'id="wallboard-nodes"' not in web.get("/wallboard").text, "every node up: no banner"
    board = web.get("/api/wallboard").json()
    assert [(n["name"], n["state"]) for n in board["nodes"]] == [("a", "up"), ("b", "up")]
    assert board["nodes_not_up"] == []

    await say(db, "b", False)
    page = web.get("/wallboard").text
    banner = page.split('id="wallboard-nodes"')[1].split("</div>")[0]
    assert 'data-node="b"' in banner and "PBX node b is down since" in banner and 'data-node="a"' not in banner
    assert "its Asterisk does not answer" in banner and 'href="/pbx-nodes"' in banner
    board = web.get("/api/wallboard").json()
    assert [(n["name"], n["state"], n["reason"]) for n in board["nodes_not_up"]] == [("b", "down", "asterisk_lost")]

    await _age(db, "a", 30)
    banner = web.get("/wallboard").text.split('id="wallboard-nodes"')[1].split("</div>")[0]
    assert "PBX node a is silent since" in banner and "cannot reach the database" in banner
    assert banner.index('data-node="a"') < banner.index('data-node="b"'), "the longest first"

    await say(db, "a", True)
    await say(db, "b", True)
    assert 'id="wallboard-nodes"' not in web.get("/wallboard").text
    assert web.get("/api/wallboard").json()["nodes_not_up"] == []


async def _boards(stream, until, seconds: float):
    """The board message of an open stream for which `until(html)` holds, within `seconds`: the HTML."""
    _, html = await asyncio.wait_for(_board_events(stream, until), seconds)
    return html


async def test_an_open_wallboard_shows_a_node_go_down_come_back_and_fall_silent(db, web_server):
    await say(db, "a", True)
    await say(db, "b", True)
    await make_user(db, "sue", "supervisor")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(web_server.url, cookie_jar=jar, headers={"Origin": web_server.url}) as http:
        async with http.get("/login") as r:
            token = csrf_from(await r.text())
        async with http.post("/login", data={"login": "sue", "password": PASSWORD, "csrf_token": token},
                             allow_redirects=False) as r:
            assert r.status in (302, 303)
        async with http.get("/wallboard/events", timeout=aiohttp.ClientTimeout(total=None)) as stream:
            assert stream.status == 200
            await _boards(stream, lambda html: 'id="wallboard-nodes"' not in html, 5)
            sent = time.monotonic()
            await say(db, "b", False)  # its NOTIFY wakes the board
            html = await _boards(stream, lambda html: 'id="wallboard-nodes"' in html, 2)
            assert time.monotonic() - sent < 2 and "PBX node b is down since" in html
            await say(db, "b", True)
            await _boards(stream, lambda html: 'id="wallboard-nodes"' not in html, 2)
            # A silent node sends nothing: the hub's look every few seconds finds it.
            await _age(db, "a", 30)
            html = await _boards(stream, lambda html: 'id="wallboard-nodes"' in html, 8)
            assert "PBX node a is silent since" in html and 'data-node="b"' not in html.split("wb-nodes")[1]
