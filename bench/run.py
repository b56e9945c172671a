"""`make bench`: the performance targets, measured on this machine.

Prints machine facts and a Markdown table (median, p95/p99, target, ratio) and
writes it to bench/results/latest.md. Builds its own database of 1,000,000
clients (COPY, about two minutes) once and reuses it. Not a test: CI does not run it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ari_app.client import basic_auth  # noqa: E402
from bench.campaign_bridge import bench_campaign_bridge, campaign_bridge_rows  # noqa: E402
from bench.load_step import caller_files, route_clients  # noqa: E402
from bench.operators import PORT as OPERATORS_PORT  # noqa: E402
from bench.operators import bench_operators, operators_rows  # noqa: E402
from bench.outbound_pacing import bench_outbound_pacing, outbound_pacing_rows  # noqa: E402
from bench.results_table import write_results  # noqa: E402
from bench.retention import bench_retention, retention_rows  # noqa: E402
from bench.saturation import asterisk_pid, bench_saturation, saturation_rows  # noqa: E402
from bench.shop_orders import bench_shop_orders, shop_orders_rows  # noqa: E402
from bench.sms import bench_sms, sms_rows  # noqa: E402
from bench.sms_campaigns import bench_sms_campaign, sms_campaign_rows  # noqa: E402
from bench.wallboard import PORT as WALLBOARD_PORT  # noqa: E402
from bench.wallboard import bench_wallboard, wallboard_rows  # noqa: E402
from bench.year_of_calls import bench_year_of_calls, year_of_calls_rows  # noqa: E402
from crm.counterparties.listing import ListQuery, list_counterparties  # noqa: E402
from crm.demo_data import seed  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.recordings.policy import RecordingPolicy  # noqa: E402
from crm.recordings.queries import save_policy as save_recording_policy  # noqa: E402
from crm.timeline import timeline  # noqa: E402
from crm.users.accounts import NewUser, create_user  # noqa: E402
from tests.processes import PbxcrmProcess  # noqa: E402

SIPP = REPO / "tests" / "sipp"
RESULTS = REPO / "bench" / "results" / "latest.md"
CLIENTS = int(os.environ.get("PBXCRM_BENCH_CLIENTS", "1000000"))
PARTS = ("delivery", "lookup", "rest")
SEARCH_TERMS = ["ivan", "mikhailovna", "kuznetsova", "ovna", "skaya", "555-44", "9161", "vostok", "pays late",
                "efimenko", "oleg.pavlov", "zzzq"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def db_url(server_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def ensure_data(server_url: str) -> tuple[str, int]:
    """The bench database (made once) and the id of a card with 10,000 timeline items."""
    url = db_url(server_url, "pbxcrm_bench")
    admin = await asyncpg.connect(server_url)
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'pbxcrm_bench'"):
        await admin.execute("CREATE DATABASE pbxcrm_bench")
    await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        # As README ("PostgreSQL settings") asks of a production database: `pbxcrm ari` reads the lookup's
        # indexes into the cache with it as it starts (crm/routing/warm_cache.py).
        if await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'"):
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        have = await conn.fetchval("SELECT count(*) FROM counterparties WHERE kind = 'client'")
        if have < CLIENTS:
            print(f"bench: seeding {CLIENTS - have} clients (once)", file=sys.stderr)
            await seed(conn, CLIENTS - have, seed_value=1)
        if not await conn.fetchval("SELECT 1 FROM users WHERE login = 'bench'"):
            await create_user(conn, NewUser(login="bench", full_name="Bench", password="bench-password",
                                            role="admin", extension="101"))
        await assign_callers(conn)
        card = await conn.fetchval("SELECT id FROM counterparties WHERE company_name = 'Bench Timeline'")
        if card is None:
            card = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', "
                                       "'Bench Timeline') RETURNING id")
            author = await conn.fetchval("SELECT id FROM users WHERE login = 'bench'")
            await conn.copy_records_to_table("notes",
                                             columns=["counterparty_id", "author_user_id", "body", "created_at"],
                                             records=[(card, author, f"note {i}", dt.datetime.now(dt.timezone.utc)
                                                       - dt.timedelta(minutes=i)) for i in range(10_000)])
            await conn.execute("ANALYZE notes")
        return url, card
    finally:
        await conn.close()


class Proc(PbxcrmProcess):
    """A pbxcrm command in its own process (tests/processes.py), started at once."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        super().__init__(args, env, log)
        self.spawn()

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline or self.exited:
                raise SystemExit(f"bench: {self.log_path.name} never said {text!r}:\n{self.log_text()[-2000:]}")
            time.sleep(0.1)


AGENTS = [str(n) for n in range(201, 217)]  # asterisk-conf/pjsip_bench.conf: all ring sipp on port 5200
AGENT_PORT = 5200
CALLERS = 1000
LOAD_CALLS_AT_ONCE = 10
LOAD_TALK_MS = 500


async def assign_callers(conn: asyncpg.Connection) -> None:
    """Two sets of 1,000 clients spread over the whole table, routed straight to a manager:
    the routing run's to the bench user (extension 101), the throughput run's to the agents."""
    for ext in AGENTS:
        if not await conn.fetchval("SELECT 1 FROM users WHERE extension = $1 AND deleted_at IS NULL", ext):
            await create_user(conn, NewUser(login=f"agent{ext}", full_name=f"Agent {ext}", password="agent-password",
                                            role="manager", extension=ext))
    for remainder, managers in ((7, ["101"]), (11, AGENTS)):
        await route_clients(conn, remainder, managers, CALLERS)


async def callers_of(url: str, extensions: list[str]) -> list[tuple[str, str]]:
    """(caller number as the trunk sends it, manager's extension) for the clients assign_callers gave them."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (c.id) k.normalized, u.extension FROM counterparties c
               JOIN users u ON u.id = c.responsible_user_id AND u.extension = ANY($1::text[])
               JOIN contacts k ON k.counterparty_id = c.id AND k.kind = 'phone' AND k.deleted_at IS NULL
               WHERE c.kind = 'client' AND c.deleted_at IS NULL ORDER BY c.id, k.id""", extensions)
    finally:
        await conn.close()
    return [(r["normalized"].lstrip("+"), r["extension"]) for r in rows]


def sipp_uas(port: int, work: Path) -> subprocess.Popen:
    return subprocess.Popen(["sipp", "-sf", str(SIPP / "phone_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
                             "-mp", str(port + 20000), "-nostdin"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sipp_calls(rows: list[tuple[str, str]], calls: int, limit: int, talk_ms: int, work: Path, port: int,
               rate: int = 100) -> dict:
    """`calls` calls from the trunk, at most `limit` at once, `rate` a second; row i of `rows` is call i's
    (caller number, dialled number). Wall seconds and sipp's count of successful calls."""
    scenario, injection = caller_files(rows, work, port)
    stats = work / f"stats-{port}.csv"
    started = time.monotonic()
    subprocess.run(["sipp", "-sf", str(scenario), "-inf", str(injection), "-key", "caller_name", "bench",
                    "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 20000), "-m", str(calls), "-l", str(limit),
                    "-r", str(rate), "-d", str(talk_ms), "-nostdin", "-timeout", "900s", "-trace_stat",
                    "-stf", str(stats), "127.0.0.1:5060"],
                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    last = stats.read_text().splitlines()
    header, values = last[0].split(";"), last[-1].split(";")
    counts = dict(zip(header, values))
    return {"wall": wall, "ok": int(counts["SuccessfulCall(C)"]), "failed": int(counts["FailedCall(C)"])}


async def bench_routing(url: str, work: Path, calls: int) -> dict:
    """StasisStart -> first dial, over real sipp calls, one at a time, from 1,000 different
    clients whose manager's phone answers. Every call is recorded (policy "all"), so each new
    call arrives while the previous one's teardown (its recording fetched and converted, its
    call log written) goes on; afterwards each call must have its complete record and recording."""
    callers = await callers_of(url, ["101"])
    conn = await asyncpg.connect(url)
    try:
        await save_recording_policy(conn, RecordingPolicy(mode="all"), None)
        since = await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
    env = dict(os.environ, DATABASE_URL=url, PBXCRM_RECORDINGS_DIR=str(work / "recordings"))
    app = Proc(["ari"], env, work / "ari.log")
    phone = sipp_uas(5101, work)
    try:
        app.wait_for("registered as Stasis app")
        time.sleep(1)
        sipp_calls([(caller, "74957654321") for caller, _ in callers], calls, 1, 200, work, 5091)
        time.sleep(1)
    finally:
        phone.terminate()
        app.stop()  # SIGTERM: the app finishes the last recordings and call-log writes first
    found = re.findall(r"first dial ([\d.]+) ms after StasisStart \(event delivery ([\d.]+), lookup ([\d.]+), "
                       r"rest ([\d.-]+) ms\)", app.log_path.read_text())
    if not found:
        raise SystemExit(f"bench: no routed call in {app.log_path}")
    columns = list(zip(*[[float(v) for v in row] for row in found]))
    result = {"n": len(found), "median": statistics.median(columns[0]), "p99": pct(columns[0], 0.99)}
    for name, values in zip(PARTS, columns[1:]):
        result[name] = (statistics.median(values), pct(values, 0.99))
    conn = await asyncpg.connect(url)
    try:
        # Complete: ended, answered, and its mp3 linked.
        result["complete"] = await conn.fetchval(
            """SELECT count(*) FROM calls c WHERE c.started_at >= $1 AND c.direction = 'incoming'
                 AND c.ended_at IS NOT NULL AND c.status = 'answered'
                 AND EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id AND r.format = 'mp3')""", since)
    finally:
        await conn.close()
    return result


async def bench_throughput(url: str, work: Path, calls: int) -> dict:
    """Completed calls per second, same load both ways: `LOAD_CALLS_AT_ONCE` calls at a time
    from 1,000 clients, each answered by its manager (one of 16 agents) after
    the same talk time; (a) the dialplan dials the agent, (b) our app looks the
    caller up and rings the responsible manager."""
    callers = await callers_of(url, AGENTS)
    agents = sipp_uas(AGENT_PORT, work)
    app = Proc(["ari"], dict(os.environ, DATABASE_URL=url), work / "ari-throughput.log")
    try:
        app.wait_for("registered as Stasis app")
        time.sleep(1)
        plain = sipp_calls([(caller, f"79980000{ext}") for caller, ext in callers], calls, LOAD_CALLS_AT_ONCE,
                           LOAD_TALK_MS, work, 5092)
        crm = sipp_calls([(caller, "74957654321") for caller, _ in callers], calls, LOAD_CALLS_AT_ONCE,
                         LOAD_TALK_MS, work, 5093)
    finally:
        agents.terminate()
        app.stop()
    return {"plain": plain["ok"] / plain["wall"], "crm": crm["ok"] / crm["wall"],
            "failed": (plain["failed"], crm["failed"]), "calls": calls}


async def bench_agi(url: str, work: Path, fast_calls: int, script_calls: int) -> dict:
    """Cost of one lookup: our FastAGI server against an AGI script started per call."""
    conn = await asyncpg.connect(url)
    number = (await conn.fetchval("SELECT normalized FROM contacts WHERE kind = 'phone' ORDER BY id LIMIT 1")
              ).lstrip("+")
    await conn.close()
    env = f"agi_network: yes\nagi_network_script: lookup\nagi_channel: PJSIP/trunk-1\nagi_callerid: {number}\n\n"
    server = Proc(["agi", "--port", "4599"], dict(os.environ, DATABASE_URL=url), work / "agi.log")
    fast = []
    try:
        server.wait_for("listening")
        for _ in range(fast_calls):
            t = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", 4599)
            writer.write(env.encode())
            while await reader.readline():
                writer.write(b"200 result=1\n")
            writer.close()
            fast.append((time.perf_counter() - t) * 1000)
    finally:
        server.stop()
    script = []
    answers = env + "200 result=1\n" * 5
    for _ in range(script_calls):
        t = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "bench" / "agi_script.py")], input=answers.encode(),
                       env=dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(REPO)), capture_output=True, check=True)
        script.append((time.perf_counter() - t) * 1000)
    return {"fast": statistics.median(fast), "fast_p99": pct(fast, 0.99), "script": statistics.median(script),
            "script_p99": pct(script, 0.99), "ratio": statistics.median(script) / statistics.median(fast)}


async def bench_search(url: str, card: int) -> dict:
    conn = await asyncpg.connect(url)
    search, pages = [], []
    try:
        for term in SEARCH_TERMS:
            for _ in range(7):
                t = time.perf_counter()
                await list_counterparties(conn, ListQuery(kind="client", q=term))
                search.append((time.perf_counter() - t) * 1000)
        for _ in range(50):
            t = time.perf_counter()
            await timeline(conn, card, ("note", "call", "task"), own_only=False)
            pages.append((time.perf_counter() - t) * 1000)
    finally:
        await conn.close()
    return {"median": statistics.median(search), "p95": pct(search, 0.95),
            "card_median": statistics.median(pages), "card_p95": pct(pages, 0.95)}


async def bench_export(url: str, work: Path, runs: int) -> dict:
    web = Proc(["web", "--port", "8099"], dict(os.environ, DATABASE_URL=url), work / "web.log")
    times, rows = [], 0
    try:
        web.wait_for("Application startup complete")
        # unsafe=True: keep cookies from a bare IP address such as 127.0.0.1.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            page = await (await s.get("http://127.0.0.1:8099/login")).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            await s.post("http://127.0.0.1:8099/login", data={"csrf_token": token, "login": "bench",
                                                              "password": "bench-password"})
            for _ in range(runs):
                t = time.perf_counter()
                async with s.get("http://127.0.0.1:8099/clients.xlsx?status=inactive&q=ovich",
                                 timeout=aiohttp.ClientTimeout(total=300)) as r:
                    await r.read()
                    rows = int(r.headers["X-Rows"])
                times.append(time.perf_counter() - t)
        peak = int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{web.proc.pid}/status").read_text()).group(1)) // 1024
    finally:
        web.stop()
    return {"rows": rows, "median": statistics.median(times), "max": max(times), "peak_mb": peak}


async def machine_facts(url: str) -> str:
    conn = await asyncpg.connect(url)
    pg = await conn.fetchval("SHOW server_version")
    await conn.close()
    ari = os.environ.get("PBXCRM_ARI_URL", "http://127.0.0.1:8088")
    auth = basic_auth(os.environ.get("PBXCRM_ARI_USER", "pbxcrm"),
                      os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"))
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as s:
        async with s.get(f"{ari}/ari/asterisk/info") as r:
            asterisk = (await r.json())["system"]["version"]
    return (f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
            f"PostgreSQL {pg}, Asterisk {asterisk}, {CLIENTS:,} clients")


def clients_text(n: int) -> str:
    """1,000,000 -> 1M; other counts as they are."""
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n:,}"


def routing_rows(r: dict) -> list[tuple]:
    return [(f"Routing: StasisStart -> first dial ({clients_text(CLIENTS)} clients, recording all)",
             f"{r['median']:.2f} ms", f"p99 {r['p99']:.2f} ms", "p99 <= 5 ms",
             f"{r['n']} real calls, {r['complete']} recorded and logged"),
            ("  of which: event delivery / lookup / rest", " / ".join(f"{r[k][0]:.2f}" for k in PARTS) + " ms",
             "p99 " + " / ".join(f"{r[k][1]:.2f}" for k in PARTS) + " ms", "", "profile")]


def throughput_rows(r: dict) -> list[tuple]:
    return [("Throughput: Stasis app vs plain Dial", f"{r['crm']:.2f} calls/s", f"plain {r['plain']:.2f} calls/s",
             "(b)/(a) >= 0.9", f"{r['crm'] / r['plain']:.2f}"),
            ("  load", f"{r['calls']} calls x2", f"{LOAD_CALLS_AT_ONCE} at once, {LOAD_TALK_MS} ms talk", "",
             "failed {} / {}".format(*r["failed"]))]


def agi_rows(r: dict) -> list[tuple]:
    return [("Lookup: FastAGI vs AGI process per call", f"{r['fast']:.2f} ms", f"script {r['script']:.1f} ms",
             ">= 20x faster", f"{r['ratio']:.0f}x")]


def search_rows(r: dict) -> list[tuple]:
    return [("Search, Clients, 1M rows", f"{r['median']:.1f} ms", f"p95 {r['p95']:.1f} ms", "p95 <= 100 ms",
             f"{len(SEARCH_TERMS)} terms x 7"),
            ("Card, 10,000 timeline items, first page", f"{r['card_median']:.1f} ms", f"p95 {r['card_p95']:.1f} ms",
             "p95 <= 50 ms", "50 runs")]


def export_rows(r: dict) -> list[tuple]:
    return [("Export to xlsx", f"{r['median']:.1f} s", f"peak RSS {r['peak_mb']} MB", "<= 10 s, <= 200 MB",
             f"{r['rows']:,} rows")]


async def main() -> None:
    server_url = os.environ["DATABASE_URL"]
    quick = os.environ.get("PBXCRM_BENCH_QUICK") == "1"
    url, card = await ensure_data(server_url)
    work = Path(tempfile.mkdtemp(prefix="pbxcrm-bench-"))
    facts = await machine_facts(url)
    benchmarks = {
        "routing": (lambda: bench_routing(url, work, 100 if quick else 1000), routing_rows),
        "throughput": (lambda: bench_throughput(url, work, 60 if quick else 300), throughput_rows),
        "agi": (lambda: bench_agi(url, work, 200, 10 if quick else 30), agi_rows),
        "search": (lambda: bench_search(url, card), search_rows),
        "export": (lambda: bench_export(url, work, 1 if quick else 3), export_rows),
        "wallboard": (lambda: bench_wallboard(
            url, work, 20 if quick else 100, AGENTS,
            lambda log: Proc(["web", "--port", str(WALLBOARD_PORT)], dict(os.environ, DATABASE_URL=url), log)),
            wallboard_rows),
        "sms": (lambda: bench_sms(url, work, 500 if quick else 2000), sms_rows),
        "sms_campaign": (lambda: bench_sms_campaign(url, 10_000 if quick else 100_000), sms_campaign_rows),
        "outbound_pacing": (lambda: asyncio.to_thread(bench_outbound_pacing), outbound_pacing_rows),
        "shop_orders": (lambda: bench_shop_orders(url, 1000, 1 if quick else 3), shop_orders_rows),  # issue 24
        "retention": (lambda: bench_retention(server_url, 100_000 if quick else 1_000_000), retention_rows),  # 25
        "campaign_bridge": (lambda: bench_campaign_bridge(
            url, work, 100 if quick else 300, AGENTS,
            lambda log: Proc(["ari"], dict(os.environ, DATABASE_URL=url), log),
            lambda: sipp_uas(AGENT_PORT, work)), campaign_bridge_rows),
        "year_of_calls": (lambda: bench_year_of_calls(server_url, 5 if quick else 20), year_of_calls_rows),  # issue 25
        "saturation": (lambda: bench_saturation(url, work, lambda log: Proc(["ari"], dict(
            os.environ, DATABASE_URL=url, PBXCRM_RECORDINGS_DIR=str(work / "recordings")), log), asterisk_pid()),
            saturation_rows),  # issue 25
        "operators": (lambda: bench_operators(  # issue 25: 300 pop streams at 20 calls/s, pages under 50 at once
            url, work, AGENTS, 15 if quick else 60, 10 if quick else 30,
            lambda log: Proc(["web", "--port", str(OPERATORS_PORT), "--workers", "2"],
                             dict(os.environ, DATABASE_URL=url), log),
            lambda log: Proc(["ari"], dict(os.environ, DATABASE_URL=url), log),
            lambda: sipp_uas(AGENT_PORT, work), sipp_calls, callers_of), operators_rows),
    }
    # PBXCRM_BENCH_ONLY=routing,export runs a part, when working on one number.
    only = [n for n in os.environ.get("PBXCRM_BENCH_ONLY", "").split(",") if n] or list(benchmarks)
    rows = []
    for name in only:
        measure, format_rows = benchmarks[name]
        rows += format_rows(await measure())
    write_results(RESULTS, "pbxcrm benchmarks", rows, facts)


if __name__ == "__main__":
    asyncio.run(main())
