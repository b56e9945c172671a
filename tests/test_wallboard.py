"""The live wallboard (issue 18) over HTTP: who may open it, its numbers against seeded calls (only the
calls the reader may see), the admin's thresholds on the queue form, and the push: a write of the
call log reaches an open wallboard stream (a real `pbxcrm web`) within a second."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from crm.calls import queries as calls_q
from crm.calls import rule_queries as call_rules_q
from crm.calls.rules import DENY, LISTEN, SEE, Rule
from crm.queues import queries as queues_q
from tests.helpers import PASSWORD, csrf_from, login, make_user
from tests.wallboard_seed import add_call, seed


async def _hide_secret_from_supervisors(db, world) -> None:
    async with db.acquire() as conn:
        await call_rules_q.save(conn, world["admin"], None, Rule(
            SEE, DENY, roles=frozenset({"supervisor"}), queue_ids=frozenset({world["secret"]}), position=1))


async def test_only_supervisors_and_admins_open_the_wallboard(web, db):
    await seed(db)
    for login_name, role in (("olga", "operator"), ("mike", "manager")):
        await make_user(db, login_name, role)
        login(web, login_name)
        for path in ("/wallboard", "/api/wallboard", "/wallboard/events"):
            assert web.get(path).status_code == 403, (role, path)
        assert 'href="/wallboard"' not in web.get("/clients").text, "no link for them"
    web.cookies.clear()
    assert web.get("/api/wallboard").status_code in (401, 403)
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    assert 'href="/wallboard"' in web.get("/clients").text
    page = web.get("/wallboard")
    assert page.status_code == 200 and 'id="wallboard"' in page.text and "/static/wallboard.js" in page.text


async def test_the_wallboards_numbers_come_from_the_calls_the_reader_may_see(web, db):
    world = await seed(db)
    await _hide_secret_from_supervisors(db, world)
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    board = web.get("/api/wallboard").json()
    queues = {q["name"]: q for q in board["queues"]}
    sales, secret = queues["Sales"], queues["Secret"]
    calls, people = world["calls"], world["people"]
    assert [w["call_id"] for w in sales["waiting"]] == [calls["w1"], calls["w2"]], "longest first"
    assert [w["number"] for w in sales["waiting"]] == ["+74951110001", "+74951110002"]
    assert 44 <= sales["longest_wait"] < 55 and sales["colours"]["wait"] == "amber", "45 s: past amber (30 s)"
    # Today: c1, c2, c3 ended and t1 being talked; not yesterday's.
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (4, 3, 1)
    assert sales["service_level"] == 0.5, "c1 and t1 within 20 s, c2 (30 s) not, c3 abandoned"
    assert sales["colours"]["level"] == "red" and sales["colours"]["tile"] == "red"
    assert sales["average_wait"] == round((5 + 30 + 5) / 3, 1) and sales["average_talk"] == 80
    assert sales["agents"] == {"available": 1, "ringing": 1, "talking": 1, "wrapup": 0, "paused": 1,
                               "logged_out": 1}
    assert sales["paused_reasons"] == [{"reason": "lunch", "count": 1}]
    assert secret["waiting"] == [] and secret["offered"] == 0, "the Secret queue's calls are hidden from her"
    agents = {a["name"]: a for a in board["agents"]}
    assert agents["Vera V"]["state"] == "talking" and agents["Vera V"]["call_id"] == calls["t1"]
    assert 95 <= agents["Vera V"]["seconds"] < 110, "talking since the answer"
    assert agents["Gleb G"]["state"] == "ringing" and agents["Gleb G"]["call_id"] == calls["w2"]
    assert agents["Dina D"]["state"] == "paused" and agents["Dina D"]["reason"] == "lunch"
    assert agents["Boris B"]["state"] == "logged_out" and agents["Anna A"]["state"] == "available"
    assert agents["Anna A"]["call_id"] is None
    assert (agents["Anna A"]["calls_today"], agents["Boris B"]["calls_today"],
            agents["Vera V"]["calls_today"]) == (1, 1, 1), "not the hidden Secret call, not yesterday's"

    page = web.get("/wallboard").text
    tile = page.split(f'data-queue="{world["sales"]}"')[1].split("</article>")[0]
    assert 'class="offered">4<' in tile and 'class="abandoned">1<' in tile and "50%" in tile
    assert f'data-call="{calls["w1"]}"' in tile and "+74951110001" in tile
    vera = page.split(f'data-agent="{people["vera"]}"')[1].split("</tr>")[0]
    assert f'data-call="{calls["t1"]}"' in vera, "the place for listen-in's buttons"

    login(web, "boss")  # the admin sees every call
    board = web.get("/api/wallboard").json()
    secret = next(q for q in board["queues"] if q["name"] == "Secret")
    assert [w["call_id"] for w in secret["waiting"]] == [calls["w3"]] and secret["offered"] == 1
    assert next(a for a in board["agents"] if a["name"] == "Anna A")["calls_today"] == 2


async def test_a_talking_agents_row_offers_listen_in_to_whom_the_call_rules_let_listen(web, db):
    """Listen-in, whisper and barge from the wallboard (issue 18): on the talking agent's row, posting
    to the call's supervise route; not on a ringing agent's; not when a rule denies the listening."""
    world = await seed(db)
    calls, people = world["calls"], world["people"]
    await make_user(db, "sue", "supervisor")
    login(web, "sue")
    page = web.get("/wallboard").text
    vera = page.split(f'data-agent="{people["vera"]}"')[1].split("</tr>")[0]
    assert f'action="/calls/{calls["t1"]}/supervise"' in vera and 'name="csrf_token"' in vera
    assert all(f'value="{mode}"' in vera for mode in ("listen", "whisper", "barge")), vera
    gleb = page.split(f'data-agent="{people["gleb"]}"')[1].split("</tr>")[0]
    assert "supervise" not in gleb, "a ringing agent's call is not talked on yet"
    async with db.acquire() as conn:
        await call_rules_q.save(conn, world["admin"], None, Rule(
            LISTEN, DENY, roles=frozenset({"supervisor"}), queue_ids=frozenset({world["sales"]}), position=1))
    page = web.get("/wallboard").text
    vera = page.split(f'data-agent="{people["vera"]}"')[1].split("</tr>")[0]
    assert f'data-call="{calls["t1"]}"' in vera and "/supervise" not in vera, "the rules deny her listening"


async def test_the_admin_sets_a_queues_thresholds_on_its_form(web, db):
    world = await seed(db)
    login(web, "boss")
    page = web.get(f"/admin/queues/{world['sales']}").text
    assert 'name="service_level_seconds"' in page and 'name="wait_red_seconds"' in page
    token = csrf_from(page)
    form = {"csrf_token": token, "name": "Sales", "strategy": "ringall", "ring_seconds": "15",
            "max_wait_seconds": "120", "member_ids": [str(i) for i in world["people"].values()],
            "service_level_seconds": "30", "wait_amber_seconds": "50", "wait_red_seconds": "90",
            "level_amber_percent": "70", "level_red_percent": "40"}
    r = web.post(f"/admin/queues/{world['sales']}", data=form, follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        sales = next(q for q in await queues_q.list_queues(conn) if q.id == world["sales"])
        changes = json.loads(await conn.fetchval(
            "SELECT changes FROM audit_log WHERE entity = 'queue' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
            world["sales"]))
    assert (sales.service_level_seconds, sales.wait_amber_seconds, sales.wait_red_seconds,
            sales.level_amber_percent, sales.level_red_percent) == (30, 50, 90, 70, 40)
    assert changes["service_level_seconds"] == [20, 30] and changes["level_red_percent"] == [60, 40]
    board = web.get("/api/wallboard").json()
    tile = next(q for q in board["queues"] if q["name"] == "Sales")
    assert tile["thresholds"]["wait_amber_seconds"] == 50 and tile["colours"]["wait"] == "ok", "45 s < 50 s"
    assert tile["service_level"] == 0.75, "c2's 30 s is within 30 s now"
    assert tile["colours"]["level"] == "ok"

    bad = web.post(f"/admin/queues/{world['sales']}", data={**form, "wait_red_seconds": "20"})
    assert bad.status_code == 400 and "the red wait threshold is not below the amber one" in bad.text
    bad = web.post(f"/admin/queues/{world['sales']}", data={**form, "level_amber_percent": "150"})
    assert bad.status_code == 400
    r = web.post(f"/admin/queues/{world['sales']}", data={**form, "csrf_token": "forged",
                                                          "service_level_seconds": "5"})
    assert r.status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT service_level_seconds FROM queues WHERE id = $1", world["sales"]) == 30


async def _board_events(response, until):
    """The board messages of an open stream, until `until(html)` holds: the arrival time and the HTML."""
    name = None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name == "board":
            html = json.loads(line[6:])["html"]
            if until(html):
                return time.monotonic(), html


async def test_an_open_wallboard_hears_a_caller_queue_and_leave_within_a_second(db, web_server):
    world = await seed(db)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(web_server.url, cookie_jar=jar,
                                     headers={"Origin": web_server.url}) as http:
        async with http.get("/login") as r:
            token = csrf_from(await r.text())
        async with http.post("/login", data={"login": "boss", "password": PASSWORD, "csrf_token": token},
                             allow_redirects=False) as r:
            assert r.status in (302, 303)
        async with http.get("/wallboard") as r:
            page_token = csrf_from(await r.text())
        async with http.get("/wallboard/events", timeout=aiohttp.ClientTimeout(total=None)) as stream:
            assert stream.status == 200
            async with asyncio.timeout(5):  # the board at once, rebuilt from the database
                _, first = await _board_events(stream, lambda html: f'data-call="{world["calls"]["w1"]}"' in html)
            # The pushed board's listen-in forms carry the stream's CSRF token, as the page's do.
            vera = first.split(f'data-agent="{world["people"]["vera"]}"')[1].split("</tr>")[0]
            assert f'action="/calls/{world["calls"]["t1"]}/supervise"' in vera
            assert page_token and f'name="csrf_token" value="{page_token}"' in vera
            async with db.acquire() as conn:
                now = await conn.fetchval("SELECT now()")
                call = await add_call(conn, world["sales"], started=now, queued=now)  # not yet queued: no NOTIFY
                channel = await conn.fetchval("SELECT channel_id FROM calls WHERE id = $1", call)
                await conn.execute("UPDATE calls SET queued_at = NULL WHERE id = $1", call)
                sent = time.monotonic()
                await calls_q.mark_queued(conn, channel, world["sales"])
            async with asyncio.timeout(1):
                arrived, html = await _board_events(stream, lambda html: f'data-call="{call}"' in html)
            assert arrived - sent < 1
            async with db.acquire() as conn:
                sent = time.monotonic()
                await calls_q.mark_answered(conn, channel, now, world["people"]["anna"], world["sales"])
            async with asyncio.timeout(1):
                await _board_events(stream, lambda html: f'class="waiting-caller" data-call="{call}"' not in html)
