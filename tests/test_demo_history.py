"""The living demo's history (issue 19): `make demo`'s seeding against the real database - every
report and list has data, a second run adds nothing, recordings and voicemails have sound, fast."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time

from crm import demo_data
from crm.demo import history, plan, texts
from crm.lines.report import calls_per_line
from crm.reports.calls import CallStatsQuery, call_series
from crm.reports.deals import managers_deals
from crm.reports.queues import agent_rows, queue_rows
from tests.helpers import login, make_user

TZ = "Europe/Moscow"
SEED_SECONDS = 40  # the budget of the history's seeding on 2 shared cores: medians measured 8-17 s


def _probe(path: str) -> tuple[float, float]:
    """(duration, mean volume in dB) of a sound file."""
    fmt = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json",
                                     path], capture_output=True, text=True, check=True).stdout)["format"]
    out = subprocess.run(["ffmpeg", "-nostdin", "-i", path, "-af", "volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    mean = float(out.split("mean_volume:")[1].split("dB")[0])
    return float(fmt["duration"]), mean


async def _counts(conn) -> dict:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608 - fixed names
            for t in ("calls", "call_legs", "recordings", "voicemails", "tasks", "notes", "agent_events", "users",
                      "queues", "lines")}


async def test_seeded_history_fills_every_report_once(db, web, tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    start = today - dt.timedelta(days=plan.DAYS)
    async with db.acquire() as conn:
        await demo_data.seed(conn, 2000, seed_value=3)
        began = time.monotonic()
        result = await history.seed(conn, tmp_path / "recordings", seed_value=5, now=now)
        elapsed = time.monotonic() - began
        print(f"demo history: {result.calls} calls seeded in {elapsed:.1f} s")
        assert not result.skipped and elapsed < SEED_SECONDS, elapsed
        assert result.calls > 2500 and result.recordings > 500 and result.voicemails > 5 and result.agent_events > 500
        counts = await _counts(conn)

        queues = {r["name"]: r for r in await queue_rows(conn, start, today, TZ)}
        for name, _ in texts.QUEUES:
            q = queues[name]
            assert q["offered"] > 100 and q["answered"] > 50 and q["abandoned"] > 0, q
            assert 0.5 < q["service_level"] < 1 and 3 < q["average_wait"] < 60, q
        agents = await agent_rows(conn, start, today, TZ, now)
        names = {a["name"] for a in agents}
        assert {name for _, name, _ in texts.OPERATORS} <= names
        assert all(a["logged_in"] > 0 and a["handled"] > 0 for a in agents), agents
        assert all(a["paused"] > 0 for a in agents if a["name"] in names), agents
        series = await call_series(conn, CallStatsQuery(start, today, group="hour"))
        assert all(sum(series["series"][t]["calls"]) > 0 for t in ("incoming", "outgoing", "missed")), series
        deals = await managers_deals(conn, start, today, TZ)
        assert deals and sum(d["won"] for d in deals) > 0 and sum(d["lost"] for d in deals) > 0
        lines = {r["name"]: r for r in await calls_per_line(conn, start, today, TZ)}
        assert all(lines[name]["total"] > 0 and lines[name]["missed"] > 0 for name, _, _ in texts.LINES), lines
        # The calls of a working day: peaks late in the morning and in the afternoon, nothing at night.
        by_hour = dict(await conn.fetch(
            """SELECT extract(hour FROM started_at AT TIME ZONE $1)::int, count(*) FROM calls
               WHERE direction = 'incoming' GROUP BY 1""", TZ))
        assert by_hour.get(11, 0) > by_hour.get(9, 0) > 0 and not by_hour.get(3)
        # Missed calls of the last days have callback tasks, from clients and strangers; voicemails theirs.
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE callback_for_date IS NOT NULL "
                                   "AND counterparty_id IS NOT NULL") > 5
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE callback_normalized IS NOT NULL") > 5
        assert await conn.fetchval("SELECT count(*) FROM voicemails WHERE task_id IS NOT NULL") > 0
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE status = 'callback'") > 0
        rec = await conn.fetchrow("SELECT r.*, c.talk_seconds FROM recordings r JOIN calls c ON c.id = r.call_id "
                                  "ORDER BY r.id DESC LIMIT 1")
        vm = await conn.fetchrow("SELECT * FROM voicemails ORDER BY id DESC LIMIT 1")

    seconds, volume = _probe(rec["path"])
    assert abs(seconds - float(rec["duration_seconds"])) < 1 and abs(seconds - float(rec["talk_seconds"])) < 1
    assert volume > -40, volume  # sound, not silence
    seconds, volume = _probe(vm["path"])
    assert abs(seconds - float(vm["seconds"])) < 1 and volume > -40

    async with db.acquire() as conn:
        again = await history.seed(conn, tmp_path / "recordings", seed_value=6)
        assert again.skipped and await _counts(conn) == counts

    # The pages show it: an admin reads every report with the demo's names on it.
    await make_user(db, "boss", "admin")
    login(web, "boss")
    period = f"from={start}&to={today}"
    expected = {"/reports/queues": "Продажи", "/reports/agents": "Ольга Смирнова",
                "/reports/lines": "Реклама на сайте", "/reports/calls?by=operator": "Дмитрий Козлов",
                "/reports/deals": "Ирина Иванова", "/calls": "74957654321"}
    for url, text in expected.items():
        page = web.get(url + ("&" if "?" in url else "?") + period)
        assert page.status_code == 200 and text in page.text, (url, page.text[:500])


def test_the_demo_words_are_no_catalogue_texts():
    """Seeded data never equals a text the pages translate (a page's words and the data stay apart)."""
    from babel.messages.pofile import read_po

    from crm import i18n

    with i18n.catalogue_path("ru").open("rb") as f:
        catalogue = read_po(f, locale="ru")
    known = set()
    for m in catalogue:
        for text in (m.id if isinstance(m.id, tuple) else (m.id,)) + (
                m.string if isinstance(m.string, tuple) else (m.string,)):
            known.add((text or "").strip().lower())
    words = [*demo_data.REMARKS, *demo_data.COMMENTS, *demo_data.COMPANY_WORDS, *demo_data.MALE, *demo_data.FEMALE,
             *(name for _, name, _ in demo_data.MANAGERS), *(name for _, name, _ in texts.OPERATORS),
             *(name for name, _ in texts.QUEUES), *(name for name, _, _ in texts.LINES), *texts.TASK_TITLES,
             *texts.DEAL_TITLES, *texts.NOTES, *texts.CALL_COMMENTS]
    assert [w for w in words if w and w.lower() in known] == []
