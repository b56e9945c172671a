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
from crm.counterparties.listing import ListQuery, list_counterparties  # noqa: E402
from crm.demo_data import seed  # noqa: E402
from crm.migrate import migrate  # noqa: E402
from crm.timeline import timeline  # noqa: E402
from crm.users.accounts import NewUser, create_user  # noqa: E402

SIPP = REPO / "tests" / "sipp"
RESULTS = REPO / "bench" / "results" / "latest.md"
CLIENTS = int(os.environ.get("PBXCRM_BENCH_CLIENTS", "1000000"))
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
        have = await conn.fetchval("SELECT count(*) FROM counterparties WHERE kind = 'client'")
        if have < CLIENTS:
            print(f"bench: seeding {CLIENTS - have} clients (once)", file=sys.stderr)
            await seed(conn, CLIENTS - have, seed_value=1)
        if not await conn.fetchval("SELECT 1 FROM users WHERE login = 'bench'"):
            await create_user(conn, NewUser(login="bench", full_name="Bench", password="bench-password",
                                            role="admin", extension="101"))
        card = await conn.fetchval("SELECT id FROM counterparties WHERE company_name = 'Bench Timeline'")
        if card is None:
            card = await conn.fetchval("INSERT INTO counterparties (kind, company_name) VALUES ('company', "
                                       "'Bench Timeline') RETURNING id")
            author = await conn.fetchval("SELECT id FROM users WHERE login = 'bench'")
            await conn.copy_records_to_table("notes", columns=["counterparty_id", "author_user_id", "body", "created_at"],
                                             records=[(card, author, f"note {i}", dt.datetime.now(dt.timezone.utc)
                                                       - dt.timedelta(minutes=i)) for i in range(10_000)])
            await conn.execute("ANALYZE notes")
        return url, card
    finally:
        await conn.close()


class Proc:
    def __init__(self, args, env, log: Path):
        self.log = log
        self.p = subprocess.Popen([sys.executable, "-m", "pbxcrm", *args], cwd=REPO, env=env,
                                  stdout=open(log, "wb"), stderr=subprocess.STDOUT)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise SystemExit(f"bench: {self.log.name} never said {text!r}:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait(10)


def sipp_uas(port: int, work: Path) -> subprocess.Popen:
    return subprocess.Popen(["sipp", "-sf", str(SIPP / "phone_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
                             "-mp", str(port + 20000), "-nostdin"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sipp_calls(caller: str, called: str, calls: int, limit: int, work: Path, port: int) -> float:
    """Wall seconds for `calls` calls, at most `limit` at once."""
    started = time.monotonic()
    subprocess.run(["sipp", "-sf", str(SIPP / "caller.xml"), "-key", "caller", caller, "-key", "caller_name", "b",
                    "-s", called, "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 20000),
                    "-m", str(calls), "-l", str(limit), "-r", "50", "-d", "200", "-nostdin", "-timeout", "900s",
                    "127.0.0.1:5060"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - started


async def bench_routing(url: str, work: Path, calls: int) -> dict:
    """StasisStart -> first dial, over real sipp calls from a client whose manager's phone answers."""
    conn = await asyncpg.connect(url)
    row = await conn.fetchrow(
        """SELECT k.normalized, u.extension FROM contacts k
           JOIN counterparties c ON c.id = k.counterparty_id AND c.queue_id IS NULL AND c.deleted_at IS NULL
           JOIN users u ON u.id = c.responsible_user_id AND u.extension IS NOT NULL
           WHERE k.kind = 'phone' ORDER BY k.id DESC LIMIT 1""")
    await conn.close()
    app = Proc(["ari"], dict(os.environ, DATABASE_URL=url), work / "ari.log")
    phone = sipp_uas(5000 + int(row["extension"]), work)
    try:
        app.wait_for("registered as Stasis app")
        time.sleep(1)
        sipp_calls(row["normalized"].lstrip("+"), "74957654321", calls, 1, work, 5091)
        time.sleep(1)
    finally:
        phone.terminate()
        app.stop()
    values = [float(v) for v in re.findall(r"first dial ([\d.]+) ms", app.log.read_text())]
    return {"n": len(values), "median": statistics.median(values), "p99": pct(values, 0.99)}


async def bench_throughput(url: str, work: Path, calls: int) -> dict:
    """Calls per second through a plain dialplan Dial and through the Stasis app, same load."""
    conn = await asyncpg.connect(url)
    bench_user = await conn.fetchval("SELECT id FROM users WHERE login = 'bench'")
    number = "+79990000001"
    if not await conn.fetchval("SELECT 1 FROM contacts WHERE normalized = $1", number):
        cp = await conn.fetchval("INSERT INTO counterparties (kind, last_name, responsible_user_id) "
                                 "VALUES ('client', 'Bench Caller', $1) RETURNING id", bench_user)
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) VALUES ($1, 'phone', $2, $2)",
                           cp, number)
    await conn.close()
    phone = sipp_uas(5101, work)
    app = Proc(["ari"], dict(os.environ, DATABASE_URL=url), work / "ari-throughput.log")
    try:
        app.wait_for("registered as Stasis app")
        time.sleep(1)
        plain = sipp_calls("79990000001", "79980000001", calls, 1, work, 5092)
        crm = sipp_calls("79990000001", "74957654321", calls, 1, work, 5093)
    finally:
        phone.terminate()
        app.stop()
    return {"plain": calls / plain, "crm": calls / crm}


async def bench_agi(url: str, work: Path, fast_calls: int, script_calls: int) -> dict:
    """Cost of one lookup: our FastAGI server against an AGI script started per call."""
    conn = await asyncpg.connect(url)
    number = (await conn.fetchval("SELECT normalized FROM contacts WHERE kind = 'phone' ORDER BY id LIMIT 1")).lstrip("+")
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
        peak = int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{web.p.pid}/status").read_text()).group(1)) // 1024
    finally:
        web.stop()
    return {"rows": rows, "median": statistics.median(times), "max": max(times), "peak_mb": peak}


async def machine_facts(url: str) -> str:
    conn = await asyncpg.connect(url)
    pg = await conn.fetchval("SHOW server_version")
    await conn.close()
    ari = os.environ.get("PBXCRM_ARI_URL", "http://127.0.0.1:8088")
    auth = basic_auth(os.environ.get("PBXCRM_ARI_USER", "pbxcrm"), os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"))
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as s:
        async with s.get(f"{ari}/ari/asterisk/info") as r:
            asterisk = (await r.json())["system"]["version"]
    return (f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
            f"PostgreSQL {pg}, Asterisk {asterisk}, {CLIENTS:,} clients")


async def main() -> None:
    server_url = os.environ["DATABASE_URL"]
    quick = os.environ.get("PBXCRM_BENCH_QUICK") == "1"
    url, card = await ensure_data(server_url)
    work = Path(tempfile.mkdtemp(prefix="pbxcrm-bench-"))
    facts = await machine_facts(url)
    routing = await bench_routing(url, work, 100 if quick else 1000)
    throughput = await bench_throughput(url, work, 20 if quick else 100)
    agi = await bench_agi(url, work, 200, 10 if quick else 30)
    search = await bench_search(url, card)
    export = await bench_export(url, work, 1 if quick else 3)
    rows = [
        ("Routing: StasisStart -> first dial", f"{routing['median']:.2f} ms", f"p99 {routing['p99']:.2f} ms",
         "p99 <= 5 ms", f"{routing['n']} real calls"),
        ("Throughput: Stasis app vs plain Dial", f"{throughput['crm']:.2f} calls/s",
         f"plain {throughput['plain']:.2f} calls/s", "(b)/(a) >= 0.9", f"{throughput['crm'] / throughput['plain']:.2f}"),
        ("Lookup: FastAGI vs AGI process per call", f"{agi['fast']:.2f} ms", f"script {agi['script']:.1f} ms",
         ">= 20x faster", f"{agi['ratio']:.0f}x"),
        ("Search, Clients, 1M rows", f"{search['median']:.1f} ms", f"p95 {search['p95']:.1f} ms", "p95 <= 100 ms",
         f"{len(SEARCH_TERMS)} terms x 7"),
        ("Card, 10,000 timeline items, first page", f"{search['card_median']:.1f} ms",
         f"p95 {search['card_p95']:.1f} ms", "p95 <= 50 ms", "50 runs"),
        ("Export to xlsx", f"{export['median']:.1f} s", f"peak RSS {export['peak_mb']} MB", "<= 10 s, <= 200 MB",
         f"{export['rows']:,} rows"),
    ]
    table = "| benchmark | median | spread | target | ratio / n |\n|---|---|---|---|---|\n" + \
        "\n".join("| " + " | ".join(r) + " |" for r in rows)
    text = f"# pbxcrm benchmarks, {dt.datetime.now():%Y-%m-%d %H:%M}\n\n{facts}\n\n{table}\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
