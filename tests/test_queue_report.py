"""Queue and agent reports (issue 18): numbers from seeded calls and presence events, the Excel
files' cells, the call rules, and who may read them."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from openpyxl import load_workbook

from crm import appsettings
from crm.calls import rule_queries as call_rules_q
from crm.calls.rules import DENY, SEE, Rule
from tests.helpers import XLSX, login, make_user

MSK = dt.timezone(dt.timedelta(hours=3))  # the tests' call centre clock
_channel = itertools.count(1)
PERIOD = "from=2025-03-01&to=2025-03-31"
DAY = dt.datetime(2025, 3, 10, 10, 0, tzinfo=MSK)


async def _call(conn, queue_id, started, *, wait: float, status: str = "answered", talk: float = 60,
                operator: int | None = None) -> None:
    answered = started + dt.timedelta(seconds=wait) if status == "answered" else None
    ended = (answered + dt.timedelta(seconds=talk)) if answered else started + dt.timedelta(seconds=wait)
    await conn.execute(
        """INSERT INTO calls (channel_id, direction, started_at, answered_at, ended_at, status, queue_id,
                              operator_user_id)
           VALUES ($1, 'incoming', $2, $3, $4, $5, $6, $7)""",
        f"q.{next(_channel)}", started, answered, ended, status, queue_id, operator)


async def _seed(db) -> dict:
    async with db.acquire() as conn:
        sales = await conn.fetchval("INSERT INTO queues (name) VALUES ('Sales') RETURNING id")
        secret = await conn.fetchval("INSERT INTO queues (name) VALUES ('Secret') RETURNING id")
        agent = await make_user(db, "agent", "operator", full_name="Anna Agent")
        for wait in (5, 5, 5):
            await _call(conn, sales, DAY, wait=wait, operator=agent["id"], talk=100)
        await _call(conn, sales, DAY + dt.timedelta(days=1), wait=40, operator=agent["id"], talk=50)  # late
        await _call(conn, sales, DAY, wait=30, status="missed")  # abandoned at 30 s
        await _call(conn, sales, DAY + dt.timedelta(days=1), wait=10, status="missed")  # abandoned at 10 s
        await _call(conn, sales, DAY, wait=60, status="voicemail")  # offered, neither answered nor abandoned
        await _call(conn, sales, dt.datetime(2025, 4, 1, 0, 30, tzinfo=MSK), wait=5)  # next month
        await _call(conn, secret, DAY, wait=3, operator=agent["id"], talk=1000)
        lunch = await conn.fetchval("SELECT id FROM pause_reasons WHERE code = 'lunch'")
        training = await conn.fetchval("SELECT id FROM pause_reasons WHERE code = 'training'")
        t = DAY - dt.timedelta(hours=1)  # 09:00
        for minutes, event, reason in ((0, "login", None), (120, "pause", lunch), (180, "resume", None),
                                       (240, "pause", training), (255, "resume", None), (480, "logout", None)):
            await conn.execute("""INSERT INTO agent_events (user_id, event, pause_reason_id, source, at)
                                  VALUES ($1, $2, $3, 'web', $4)""",
                               agent["id"], event, reason, t + dt.timedelta(minutes=minutes))
    return {"sales": sales, "secret": secret, "agent": agent["id"], "lunch": lunch, "training": training}


async def _hide_secret(db, world) -> None:
    async with db.acquire() as conn:
        admin = await make_user(db, "boss", "admin")
        await call_rules_q.save(conn, admin["id"], None, Rule(
            SEE, DENY, roles=frozenset({"manager"}), queue_ids=frozenset({world["secret"]}), position=1))


async def test_the_queue_report_counts_offered_answered_abandoned_and_service_level(web, db):
    world = await _seed(db)
    await _hide_secret(db, world)
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    data = web.get(f"/api/reports/queues?{PERIOD}").json()
    assert [q["name"] for q in data["queues"]] == ["Sales"], "the call hidden by a call rule is not counted"
    sales = data["queues"][0]
    assert {k: sales[k] for k in ("offered", "answered", "abandoned", "average_wait", "average_abandon_wait",
                                  "max_abandon_wait")} == {
        "offered": 7, "answered": 4, "abandoned": 2, "average_wait": 13.8, "average_abandon_wait": 20.0,
        "max_abandon_wait": 30.0}
    assert sales["service_level"] == 3 / 7 and sales["service_level_seconds"] == 20, "the default threshold"
    assert data["totals"]["offered"] == 7
    assert [(s["bucket"], s["offered"], s["abandoned"]) for s in data["series"]] == [
        ("2025-03-10 00:00", 5, 1), ("2025-03-11 00:00", 2, 1)]
    weekly = web.get(f"/api/reports/queues?{PERIOD}&group=week").json()["series"]
    assert [(s["bucket"], s["offered"]) for s in weekly] == [("2025-03-10 00:00", 7)]

    page = web.get(f"/reports/queues?{PERIOD}").text
    row = page.split(f'data-queue="{world["sales"]}"')[1].split("</tr>")[0]
    assert 'class="offered">7<' in row and 'class="abandoned">2<' in row and "43%" in row
    assert 'class="abandon-max">0:30<' in row
    assert page.split('id="queues-chart"')[1].split("</figure>")[0].count('<g class="bar">') == 2

    login(web, "boss")  # the admin sees the secret queue's call too
    assert [q["name"] for q in web.get(f"/api/reports/queues?{PERIOD}").json()["queues"]] == ["Sales", "Secret"]

    response = web.get(f"/reports/queues.xlsx?{PERIOD}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(XLSX)
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:4] == ["Queue", "Offered", "Answered", "Abandoned"]
    assert rows[1][:8] == ["Sales", 7, 4, 2, 42.9, 13.8, 20, 30]
    assert rows[3][0] == "Total" and rows[3][1] == 8
    assert rows[0][-1] == "Service level threshold, s" and rows[1][-1] == 20


async def test_each_queue_counts_its_service_level_against_its_own_threshold(web, db):
    world = await _seed(db)
    async with db.acquire() as conn:  # Sales: within 40 s now (the late call's 40 s counts); Secret: 2 s
        await conn.execute("UPDATE queues SET service_level_seconds = 40 WHERE id = $1", world["sales"])
        await conn.execute("UPDATE queues SET service_level_seconds = 2 WHERE id = $1", world["secret"])
    await make_user(db, "boss", "admin")
    login(web, "boss")
    data = web.get(f"/api/reports/queues?{PERIOD}").json()
    by_name = {q["name"]: q for q in data["queues"]}
    assert by_name["Sales"]["service_level"] == 4 / 7 and by_name["Sales"]["service_level_seconds"] == 40
    assert by_name["Secret"]["service_level"] == 0 and by_name["Secret"]["service_level_seconds"] == 2
    assert data["totals"]["service_level"] == 4 / 8, "each call against its own queue's threshold"
    assert sum(s["offered"] for s in data["series"]) == 8
    page = web.get(f"/reports/queues?{PERIOD}").text
    assert 'class="threshold">40<' in page.split(f'data-queue="{world["sales"]}"')[1].split("</tr>")[0]


async def test_the_wait_counts_in_the_queue_not_in_the_greeting_or_the_menu(web, db):
    """A caller who spent 50 s in an IVR menu and then 8 s in the queue waited 8 s there: in time for a
    20 s service level. One that left the queue for a callback after 15 s (queue_left_at) abandoned at 15 s."""
    async with db.acquire() as conn:
        sales = await conn.fetchval("INSERT INTO queues (name) VALUES ('Sales') RETURNING id")
        queued = DAY + dt.timedelta(seconds=50)
        await conn.execute(
            """INSERT INTO calls (channel_id, direction, started_at, queued_at, answered_at, ended_at, status, queue_id)
               VALUES ('ivr.1', 'incoming', $1, $2, $3, $4, 'answered', $5),
                      ('ivr.2', 'incoming', $1, $2, NULL, $6, 'missed', $5)""",
            DAY, queued, queued + dt.timedelta(seconds=8), queued + dt.timedelta(seconds=100), sales,
            queued + dt.timedelta(seconds=40))
        await conn.execute("UPDATE calls SET queue_left_at = queued_at + interval '15 seconds' WHERE channel_id = 'ivr.2'")
    await make_user(db, "boss", "admin")
    login(web, "boss")
    row = web.get(f"/api/reports/queues?{PERIOD}").json()["queues"][0]
    assert (row["average_wait"], row["service_level"], row["max_abandon_wait"]) == (8.0, 0.5, 15.0)


async def test_the_agent_report_reads_sessions_pauses_and_handled_calls(web, db):
    world = await _seed(db)
    await _hide_secret(db, world)
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    data = web.get(f"/api/reports/agents?{PERIOD}").json()
    (anna,) = data["agents"]
    assert anna["name"] == "Anna Agent" and anna["logged_in"] == 8 * 3600
    paused = {p["reason_id"]: p["seconds"] for p in anna["paused_by_reason"]}
    assert paused == {world["lunch"]: 3600, world["training"]: 900} and anna["paused"] == 4500
    assert (anna["handled"], anna["talk"], anna["average_handle"]) == (4, 350, 87.5), "not the hidden call"
    assert {r["name"] for r in data["reasons"]} == {"lunch", "training"}

    page = web.get(f"/reports/agents?{PERIOD}").text
    row = page.split(f'data-agent="{world["agent"]}"')[1].split("</tr>")[0]
    assert 'class="logged-in">8:00:00<' in row and 'class="paused">1:15:00<' in row
    assert f'data-reason="{world["lunch"]}">1:00:00<' in row and 'class="handled">4<' in row

    assert web.get(f"/reports/agents.xlsx?{PERIOD}").status_code == 403, "export is the admin's (settings)"
    login(web, "boss")  # who sees the hidden queue's call too
    response = web.get(f"/reports/agents.xlsx?{PERIOD}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(XLSX)
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["Agent", "Logged in, s", "Paused, s", "Paused: lunch, s", "Paused: training, s",
                       "Talk time, s", "Calls handled", "Average handle time, s"]
    assert rows[1] == ["Anna Agent", 28800, 4500, 3600, 900, 1350, 5, 270]
    assert web.get("/api/reports/agents?from=2025-02-01&to=2025-02-28").json()["agents"] == []


async def test_operators_may_not_read_the_reports_and_bad_input_is_refused(web, db):
    await make_user(db, "op", "operator")
    login(web, "op")
    for path in ("/reports/queues", "/api/reports/agents", "/reports/queues.xlsx", "/reports/agents.xlsx"):
        assert web.get(path).status_code == 403, path
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    assert web.get("/api/reports/queues?group=year").status_code == 400
    assert web.get("/api/reports/queues?from=2025-03-05&to=2025-03-01").status_code == 400
    assert web.get("/reports/agents?from=bad").status_code == 400


async def test_an_operator_allowed_to_export_still_gets_no_report_file(web, db):
    """The export roles open the lists' files; a report's file is for the report's readers (managers and up)."""
    admin = await make_user(db, "boss", "admin")
    await make_user(db, "oper", "operator")
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, admin["id"], ["operator", "admin"])
    login(web, "oper")
    for path in ("/reports/calls.xlsx", "/reports/deals.xlsx", "/reports/lines.xlsx", "/reports/queues.xlsx",
                 "/reports/agents.xlsx"):
        assert web.get(path).status_code == 403, path
    assert web.get("/calls.xlsx").status_code == 200, "the call log's file is the export roles' to give"


async def test_tag_filters_with_and_without_several_of_each(web, db):
    """D2: the calls whose counterparty has every "with" tag and none of the "without"; an unknown caller's
    call has no tags (a "without" filter keeps it, a "with" filter drops it); page, JSON and Excel."""
    from crm.tags import TagInput, save_tag

    world = await _seed(db)  # its calls have no counterparty
    boss = await make_user(db, "boss", "admin")
    async with db.acquire() as conn:
        big = await save_tag(conn, boss["id"], None, TagInput("Big"))
        risky = await save_tag(conn, boss["id"], None, TagInput("Risky"))
        for name, queue, status, its_tags in (("Acme", world["sales"], "answered", (big, risky)),
                                              ("Beta", world["secret"], "missed", (big,))):
            cid = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', $1) "
                                      "RETURNING id", name)
            await conn.executemany("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)",
                                   [(cid, t) for t in its_tags])
            await _call(conn, queue, DAY + dt.timedelta(days=2), wait=12, status=status)
            await conn.execute("UPDATE calls SET counterparty_id = $1 WHERE queue_id = $2 AND started_at = $3",
                               cid, queue, DAY + dt.timedelta(days=2))
    login(web, "boss")

    def offered(query: str) -> dict:
        data = web.get(f"/api/reports/queues?{PERIOD}&{query}").json()
        assert data["totals"]["offered"] == sum(s["offered"] for s in data["series"]) \
            == sum(q["offered"] for q in data["queues"]), query
        return {q["name"]: (q["offered"], q["answered"], q["abandoned"]) for q in data["queues"]}

    assert offered("") == {"Sales": (8, 5, 2), "Secret": (2, 1, 1)}
    assert offered(f"tag={big}") == {"Sales": (1, 1, 0), "Secret": (1, 0, 1)}
    assert offered(f"tag={big}&tag={risky}") == {"Sales": (1, 1, 0)}
    assert offered(f"tag={big}&notag={risky}") == {"Secret": (1, 0, 1)}
    assert offered(f"notag={big}&notag={risky}") == {"Sales": (7, 4, 2), "Secret": (1, 1, 0)}, \
        "the unknown callers' calls (two abandoned) have none of those tags"
    echoed = web.get(f"/api/reports/queues?{PERIOD}&tag={big}&notag={risky}").json()
    assert (echoed["tag"], echoed["notag"]) == ([big], [risky])

    page = web.get(f"/reports/queues?{PERIOD}&tag={big}&notag={risky}").text
    assert f'<option value="{big}" selected>with tag Big</option>' in page
    assert f'<option value="{risky}" selected>without tag Risky</option>' in page
    assert f'data-queue="{world["secret"]}"' in page and f'data-queue="{world["sales"]}"' not in page
    assert "A call from an unknown caller has no tags" in page.split('id="tag-filters-hint"')[1]
    assert f"tag={big}&amp;notag={risky}" in page.split('id="export"')[1].split(">")[0]

    r = web.get(f"/reports/queues.xlsx?{PERIOD}&tag={big}&notag={risky}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    rows = [row[:4] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert rows[1:] == [("Secret", 1, 0, 1), ("Total", 1, 0, 1)]
    r = web.get(f"/reports/queues.xlsx?{PERIOD}&notag={big}")
    rows = [row[:4] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert rows[1:] == [("Sales", 7, 4, 2), ("Secret", 1, 1, 0), ("Total", 8, 5, 2)]
