"""The queue report against real calls (issue 18: "the queue report's service level and abandon
numbers match a scripted set of sipp calls (some answered in 5 s, some abandoned at 30 s)").

Five callers ring the default queue (round robin over three sipp agent phones) together: three are
answered, two by phones that ring 5 s and one by a phone that rings 22 s (past the 20 s service
level); 1.5 s later, with every agent ringing or talking, two more callers wait and hang up, one at
30 s and one at 12 s. The report's JSON and page count what the script did. The calls run at once,
so the test takes about 45 s."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import zoneinfo

from tests import helpers
from tests.telephony import SippPhone, sipp_call, wait_for

CALLED = "74957654321"
TALK_MS = 40_000  # the answered callers keep their agents busy past the last abandon
ANSWERED = ("89036660001", "89036660002", "89036660003")
ABANDONED = {"89036660004": 30.0, "89036660005": 12.0}  # caller -> seconds waited before hanging up
RINGS = {"103": 5.0, "104": 5.0, "105": 22.0}  # agent phone -> seconds it rings before answering
TOLERANCE = 2.0


def _cell(html: str, name: str) -> str:
    m = re.search(rf'<tr data-queue="\d+">.*?<td[^>]*class="{name}">([^<]*)</td>', html, flags=re.S)
    assert m, f"no {name} cell in the queue row"
    return m.group(1).strip()


def _seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


async def test_the_queue_report_matches_scripted_sipp_calls(db, web, start_stasis_app, tmp_path, settings):
    crm = await helpers.queue_of_three(db)
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'roundrobin', ring_seconds = 30, max_wait_seconds = 90, "
                           "wrapup_seconds = 0 WHERE id = $1", crm["queue"])
    await helpers.make_user(db, "reader", "manager")
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer_late.xml", tmp_path, args=("-d", "5000")) as p103, \
            SippPhone("104", "phone_answer_late.xml", tmp_path, args=("-d", "5000")) as p104, \
            SippPhone("105", "phone_answer_late.xml", tmp_path, args=("-d", "22000")) as p105:

        async def abandon(caller: str, after: float):
            await asyncio.sleep(1.5)  # after the answered callers took every agent
            return await sipp_call(caller=caller, called=CALLED, talk_ms=int(after * 1000), timeout=60)

        results = await asyncio.gather(
            *(sipp_call(caller=c, called=CALLED, talk_ms=TALK_MS, timeout=70) for c in ANSWERED),
            *(abandon(c, after) for c, after in ABANDONED.items()))
        rung = {p.extension: len(p.invites()) for p in (p103, p104, p105)}
    for result in results:
        assert result.returncode == 0, result.output + app.log_text()[-3000:]
    assert rung == {"103": 1, "104": 1, "105": 1}, f"each agent takes one answered caller: {rung}"

    async def ended():
        async with db.acquire() as conn:
            return await conn.fetch("SELECT * FROM calls WHERE ended_at IS NOT NULL ORDER BY caller_number")
    rows = await wait_for(lambda: _all(ended, 5))
    assert rows, app.log_text()[-3000:]
    by_caller = {r["caller_number"]: r for r in rows}
    assert set(by_caller) == set(ANSWERED) | set(ABANDONED)
    waits = sorted(float(by_caller[c]["wait_seconds"]) for c in ANSWERED)
    assert [by_caller[c]["status"] for c in ANSWERED] == ["answered"] * 3
    for got, rings in zip(waits, sorted(RINGS.values())):
        assert rings <= got <= rings + TOLERANCE, (waits, RINGS)
    for caller, after in ABANDONED.items():
        row = by_caller[caller]
        assert row["status"] == "missed" and row["operator_user_id"] is None, dict(row)
        assert after <= float(row["wait_seconds"]) <= after + TOLERANCE, (caller, row["wait_seconds"])

    day = min(r["started_at"] for r in rows).astimezone(zoneinfo.ZoneInfo(settings.timezone)).date()
    period = f"from={day - dt.timedelta(days=1)}&to={day + dt.timedelta(days=1)}"
    helpers.login(web, "reader")
    data = web.get(f"/api/reports/queues?{period}").json()
    [queue] = data["queues"]
    assert queue["service_level_seconds"] == 20, "the queue's threshold (the default)"
    assert queue["queue_id"] == crm["queue"]
    assert (queue["offered"], queue["answered"], queue["abandoned"]) == (5, 3, 2), queue
    assert queue["service_level"] == 2 / 5, "two of five callers were answered within 20 s"
    assert 30 <= queue["max_abandon_wait"] <= 30 + TOLERANCE, queue
    assert 21 <= queue["average_abandon_wait"] <= 21 + TOLERANCE, queue  # (30 + 12) / 2
    assert 32 / 3 <= queue["average_wait"] <= 32 / 3 + TOLERANCE, queue  # (5 + 5 + 22) / 3
    assert data["totals"] == {k: v for k, v in queue.items() if k not in ("queue_id", "name", "service_level_seconds")}

    page = web.get(f"/reports/queues?{period}")
    assert page.status_code == 200
    assert [_cell(page.text, k) for k in ("offered", "answered", "abandoned")] == ["5", "3", "2"]
    assert re.sub(r"\D", "", _cell(page.text, "service-level")) == "40"
    assert 30 <= _seconds(_cell(page.text, "abandon-max")) <= 30 + TOLERANCE
    assert 21 <= _seconds(_cell(page.text, "abandon-wait")) <= 21 + TOLERANCE


async def _all(rows_now, count: int):
    """The ended calls once there are `count` of them."""
    rows = await rows_now()
    return rows if len(rows) >= count else None
