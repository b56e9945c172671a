"""Agent presence in the web UI (issue 18): the header's control on every page for queue members,
its JSON API, the admin's pause reasons, and a queue's wrap-up seconds."""

from crm.agents import queries as agents_q
from crm.queues import queries as queues_q
from tests.helpers import login, make_user


async def _member(db, login_name: str, extension: str, role: str = "operator") -> int:
    user = await make_user(db, login_name, role, full_name=f"Agent {extension}", extension=extension)
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) SELECT id, $1 FROM queues WHERE is_default",
                           user["id"])
    return user["id"]


async def _events(db, user_id: int) -> list[tuple[str, str]]:
    async with db.acquire() as conn:
        return [(r["event"], r["source"]) for r in await agents_q.events_of(conn, user_id)]


async def test_a_queue_member_pauses_resumes_and_logs_out_from_the_header_of_any_page(web, db):
    agent = await _member(db, "agent", "103")
    login(web, "agent")
    token = web.cookies["pbxcrm_csrf"]
    page = web.get("/tasks").text
    assert 'id="agent-presence"' in page and "available" in page and 'value="pause"' in page
    async with db.acquire() as conn:
        lunch, training = (await agents_q.reason_ids(conn))[:2]

    r = web.post("/agent", data={"csrf_token": token, "action": "pause", "reason_id": str(training),
                                 "next": "/tasks"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tasks"
    page = web.get("/calls").text
    assert "paused: training" in page and 'value="resume"' in page and 'value="pause"' not in page
    async with db.acquire() as conn:
        state = await agents_q.state_of(conn, agent)
    assert state.paused and state.reason_id == training

    web.post("/agent", data={"csrf_token": token, "action": "resume", "next": "/calls"})
    r = web.post("/agent", data={"csrf_token": token, "action": "logout", "next": "//evil.example/"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", "never a redirect off the site"
    assert "logged out" in web.get("/tasks").text
    assert await _events(db, agent) == [("pause", "web"), ("resume", "web"), ("logout", "web")]

    # Nothing changed on a change that cannot be done; the reason in words, never a 500.
    r = web.post("/agent", data={"csrf_token": token, "action": "pause", "reason_id": str(lunch)})
    assert r.status_code == 409 and "log in to your queues first" in r.text
    r = web.post("/agent", data={"csrf_token": token, "action": "dance"})
    assert r.status_code == 400
    r = web.post("/agent", data={"action": "login"})
    assert r.status_code == 403, "no CSRF token: refused"
    assert await _events(db, agent) == [("pause", "web"), ("resume", "web"), ("logout", "web")]


async def test_the_json_api_reads_and_changes_the_users_own_presence(web, db):
    agent = await _member(db, "agent", "103")
    login(web, "agent")
    headers = {"X-CSRF-Token": web.cookies["pbxcrm_csrf"]}
    state = web.get("/api/agent").json()
    assert state["status"] == "available" and state["logged_in"] and not state["paused"]
    assert [r["number"] for r in state["reasons"]] == [1, 2, 3]
    assert [r["name"] for r in state["reasons"]] == ["lunch", "training", "after-call work"]
    queue_id = state["queues"][0]["id"]

    r = web.post("/api/agent", json={"action": "logout", "queue_id": queue_id}, headers=headers)
    assert r.status_code == 200 and r.json()["queues"][0]["logged_in"] is False
    r = web.post("/api/agent", json={"action": "login"}, headers=headers)
    assert r.json()["queues"][0]["logged_in"] is True
    r = web.post("/api/agent", json={"action": "pause", "reason_id": state["reasons"][0]["id"]}, headers=headers)
    assert r.json()["status"] == "paused" and r.json()["reason_id"] == state["reasons"][0]["id"]
    r = web.post("/api/agent", json={"action": "pause", "reason_id": 999999}, headers=headers)
    assert r.status_code == 404
    r = web.post("/api/agent", json={"action": "logout", "queue_id": 999999}, headers=headers)
    assert r.status_code == 409 and "not a member" in r.json()["error"]
    r = web.post("/api/agent", json={"action": "resume"}, headers=headers)
    assert r.json()["status"] == "available"
    assert await _events(db, agent) == [("logout", "api"), ("login", "api"), ("pause", "api"), ("resume", "api")]


async def test_a_user_in_no_queue_has_no_control(web, db):
    await make_user(db, "clerk", "operator", extension="109")
    login(web, "clerk")
    assert 'id="agent-presence"' not in web.get("/tasks").text
    assert web.get("/api/agent").status_code == 404


async def test_russian_header_and_reasons(web, db):
    await _member(db, "agent", "103")
    login(web, "agent")
    page = web.get("/tasks", headers={"Accept-Language": "ru"}).text
    assert "Пауза" in page and "свободен" in page and "Выйти из очередей" in page
    assert "обед" in page.lower()


async def test_the_admin_keeps_the_pause_reasons(web, db):
    await make_user(db, "adm", "admin")
    agent = await _member(db, "agent", "103")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    page = web.get("/admin/pause-reasons").text
    assert "*741" in page and "lunch" in page and "after-call work" in page
    r = web.post("/admin/pause-reasons", data={"csrf_token": token, "name": "Meeting"}, follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        reasons = await agents_q.list_reasons(conn)
    assert [(r["number"], r["name"]) for r in reasons][-1] == (4, "Meeting")
    meeting = reasons[-1]["id"]
    r = web.post("/admin/pause-reasons", data={"csrf_token": token, "name": "meeting"})
    assert r.status_code == 409 and "exists already" in r.text
    r = web.post("/admin/pause-reasons", data={"csrf_token": token, "name": ""})
    assert r.status_code == 400
    r = web.post(f"/admin/pause-reasons/{meeting}", data={"csrf_token": token, "name": "Team meeting"},
                 follow_redirects=False)
    assert r.status_code == 303 and "Team meeting" in web.get("/admin/pause-reasons").text
    async with db.acquire() as conn:
        await agents_q.change(conn, agent, "pause", source="api", reason_id=meeting)
    r = web.post(f"/admin/pause-reasons/{meeting}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "Team meeting" not in web.get("/admin/pause-reasons").text
    async with db.acquire() as conn:
        assert (await agents_q.state_of(conn, agent)).reason_id == meeting, "who paused with it stays paused"
    assert web.post("/admin/pause-reasons/999999/delete", data={"csrf_token": token}).status_code == 404
    async with db.acquire() as conn:
        audited = [(r["action"], r["changes"]) for r in await conn.fetch(
            "SELECT action, changes::text FROM audit_log WHERE entity = 'pause_reason' AND entity_id = $1 ORDER BY id",
            meeting)]
    assert audited == [("create", '{"name": [null, "Meeting"]}'), ("update", '{"name": ["Meeting", "Team meeting"]}'),
                       ("delete", '{"name": ["Team meeting", null]}')]

    login(web, "agent")
    assert web.get("/admin/pause-reasons").status_code == 403


async def test_the_admin_reorders_the_pause_reasons_and_the_header_and_star_74n_follow(web, db):
    import re

    await make_user(db, "adm", "admin")
    await _member(db, "agent", "103")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    async with db.acquire() as conn:
        lunch, training, after = await agents_q.reason_ids(conn)
    r = web.post(f"/admin/pause-reasons/{training}/move", data={"csrf_token": token, "steps": "-1"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/pause-reasons"
    web.post(f"/admin/pause-reasons/{lunch}/move", data={"csrf_token": token, "steps": "1"})
    page = web.get("/admin/pause-reasons").text
    rows = list(zip(re.findall(r">\*74(\d)</td>", page), re.findall(r'<input name="name" value="([^"]*)"', page)))
    assert rows == [("1", "training"), ("2", "after-call work"), ("3", "lunch")]
    async with db.acquire() as conn:
        # The phone's *74N: N-th of this list (ari_app/agents.py reads reason_ids).
        assert await agents_q.reason_ids(conn) == [training, after, lunch]
    # Past either end: stays there; a reason that is gone: 404; a bad step: 400; no CSRF: 403.
    web.post(f"/admin/pause-reasons/{training}/move", data={"csrf_token": token, "steps": "-1"})
    web.post(f"/admin/pause-reasons/{lunch}/move", data={"csrf_token": token, "steps": "3"})
    assert web.post("/admin/pause-reasons/999999/move", data={"csrf_token": token, "steps": "1"}).status_code == 404
    assert web.post(f"/admin/pause-reasons/{lunch}/move", data={"csrf_token": token, "steps": "x"}).status_code == 400
    assert web.post(f"/admin/pause-reasons/{lunch}/move", data={"steps": "-1"}).status_code == 403
    async with db.acquire() as conn:
        assert await agents_q.reason_ids(conn) == [training, after, lunch]
        audited = [(r["entity_id"], r["changes"]) for r in await conn.fetch(
            "SELECT entity_id, changes::text FROM audit_log WHERE entity = 'pause_reason' AND action = 'move' "
            "ORDER BY id")]
    assert audited == [(training, '{"position": [2, 1]}'), (lunch, '{"position": [1, 2]}'),
                       (after, '{"position": [3, 2]}'), (lunch, '{"position": [2, 3]}')]

    login(web, "agent")
    header = web.get("/tasks").text
    options = re.findall(r'<option value="(\d+)">', header.split('name="reason_id"', 1)[1].split("</select>", 1)[0])
    assert options == [str(training), str(after), str(lunch)], "the header lists the reasons in the admin's order"
    assert [r["id"] for r in web.get("/api/agent").json()["reasons"]] == [training, after, lunch]
    assert web.post(f"/admin/pause-reasons/{lunch}/move", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                                 "steps": "-1"}).status_code == 403


async def test_a_queues_wrap_up_seconds_are_saved(web, db):
    await make_user(db, "adm", "admin")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    r = web.post("/admin/queues", data={"csrf_token": token, "name": "Support", "strategy": "ringall",
                                        "ring_seconds": "10", "max_wait_seconds": "60", "wrapup_seconds": "15"},
                 follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        queues = {q.name: q for q in await queues_q.list_queues(conn)}
    assert queues["Support"].wrapup_seconds == 15
    async with db.acquire() as conn:
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'queue' AND entity_id = $1",
                                      queues["Support"].id)
    assert '"wrapup_seconds": [null, 15]' in changes
    bad = web.post("/admin/queues", data={"csrf_token": token, "name": "Sales", "wrapup_seconds": "4000"})
    assert bad.status_code == 400


async def test_every_change_is_notified_for_the_app_and_a_wallboard(web, db, database_url):
    import asyncio
    import json

    import asyncpg

    agent = await _member(db, "agent", "103")
    heard: list[dict] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(agents_q.CHANNEL, lambda _c, _p, _ch, payload: heard.append(json.loads(payload)))
        login(web, "agent")
        headers = {"X-CSRF-Token": web.cookies["pbxcrm_csrf"]}
        async with db.acquire() as conn:
            lunch = (await agents_q.reason_ids(conn))[0]
        web.post("/api/agent", json={"action": "pause", "reason_id": lunch}, headers=headers)
        web.post("/api/agent", json={"action": "logout"}, headers=headers)
        for _ in range(100):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await listener.close()
    assert [(h["user_id"], h["event"], h["status"], h["reason_id"]) for h in heard] == [
        (agent, "pause", "paused", lunch), (agent, "logout", "logged_out", None)]
    assert all(h["at"] for h in heard)


async def test_an_agent_ends_its_wrap_up_early_from_the_header_or_the_api(web, db, database_url):
    import asyncio
    import datetime as dt
    import json

    import asyncpg

    agent = await _member(db, "agent", "103")
    login(web, "agent")
    token = web.cookies["pbxcrm_csrf"]
    assert 'value="end_wrapup"' not in web.get("/tasks").text, "no wrap-up: nothing to end"
    r = web.post("/agent", data={"csrf_token": token, "action": "end_wrapup"})
    assert r.status_code == 409 and "you are not in wrap-up" in r.text

    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=60)
    async with db.acquire() as conn:
        await agents_q.start_wrapup(conn, agent, None, until)  # as the app does after a queue call
    page = web.get("/tasks").text
    assert "wrap-up" in page and 'value="end_wrapup"' in page
    heard: list[dict] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(agents_q.CHANNEL, lambda _c, _p, _ch, payload: heard.append(json.loads(payload)))
        r = web.post("/agent", data={"csrf_token": token, "action": "end_wrapup", "next": "/tasks"},
                     follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/tasks"
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
    finally:
        await listener.close()
    # The app's own note of the wrap-up ends too: the NOTIFY says which wrap-up ended.
    assert [(h["event"], h["status"], dt.datetime.fromisoformat(h["until"])) for h in heard] == [
        ("wrapup_end", "available", until)]
    async with db.acquire() as conn:
        assert (await agents_q.state_of(conn, agent)).wrapup_until is None
        # The app's timer finds the wrap-up over: nothing stored twice.
        assert not await agents_q.end_wrapup(conn, agent, None, until)
    assert 'value="end_wrapup"' not in web.get("/tasks").text

    async with db.acquire() as conn:
        await agents_q.start_wrapup(conn, agent, None, until + dt.timedelta(seconds=5))
    headers = {"X-CSRF-Token": token}
    assert web.get("/api/agent").json()["status"] == "wrapup"
    r = web.post("/api/agent", json={"action": "end_wrapup"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "available" and r.json()["wrapup_until"] is None
    r = web.post("/api/agent", json={"action": "end_wrapup"}, headers=headers)
    assert r.status_code == 409 and "not in wrap-up" in r.json()["error"]
    assert await _events(db, agent) == [("wrapup_start", "app"), ("wrapup_end", "web"),
                                        ("wrapup_start", "app"), ("wrapup_end", "api")]
