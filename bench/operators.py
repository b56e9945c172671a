"""`make bench`, many operators (issue 25). 300 logged-in operators' screen-pop streams (GET /events, read
by aiohttp: a load client, not 300 browsers) are open on `pbxcrm web --workers 2` while real sipp calls come
in at 20 calls/s through Asterisk into the Stasis app and ring the bench agents (among the 300; their phones
answered by sipp). Each ringing pop is timed from the call's StasisStart (its timestamp from Asterisk, which
the pop carries as entered_at) to its arrival at the rung user's stream, split at the NOTIFY as the bench's
own LISTEN hears it (the app's part, then the web's); every pop sent must reach each stream of its user and
no other, whichever worker holds the stream. Then the pages: 50 logged-in operators asking at once, for
30 s, for the lists (clients, companies, calls) and client cards, each answer timed."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg

from bench import pg_statements
from crm import passwords
from crm.pops import CHANNEL
from tests.processes import socket_owners, web_workers

OPERATORS = 300
PORT = 8097
PREFIX = "bench-op-"
PASSWORD = "bench-operator-password"
AGENT_PASSWORD = "agent-password"  # bench/run.py assign_callers' agents
CALL_RATE = 20
TALK_MS = 200  # short: 16 agents' phones take 20 calls a second
PAGE_CLIENTS = 50
PAGES = ("clients", "companies", "calls", "card")
POP_TARGET_MS = 300
PAGE_TARGET_MS = 150


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")  # nan: nothing came (the row says so)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


async def _make_operators(conn: asyncpg.Connection, count: int) -> list[str]:
    """`count` operators' logins, made at once the first time (one password hash for all)."""
    logins = [f"{PREFIX}{n:03d}" for n in range(1, count + 1)]
    have = await conn.fetchval("SELECT count(*) FROM users WHERE login = ANY($1::text[]) AND deleted_at IS NULL",
                               logins)
    if have < count:
        await conn.execute(
            """INSERT INTO users (login, full_name, password_hash, role)
               SELECT l, 'Bench Operator ' || substr(l, length($3) + 1), $2, 'operator' FROM unnest($1::text[]) l
               ON CONFLICT DO NOTHING""", logins, passwords.hash_password(PASSWORD), PREFIX)
    return logins


class Stream:
    """One operator's open /events: the pops it receives, each with its arrival (Unix time)."""

    def __init__(self, base: str, login: str, password: str):
        self.base, self.login, self.password = base, login, password
        self.http = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base})
        self.user_id = 0
        self.port = 0  # the connection's local port: which worker holds it (tests/processes.socket_owners)
        self.pops: list[tuple[float, dict]] = []
        self.task: asyncio.Task | None = None

    async def log_in(self) -> None:
        for _ in range(50):  # the login's password check turns away what it cannot take at once (503)
            async with self.http.get("/login") as r:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)
            async with self.http.post("/login", data={"csrf_token": token, "login": self.login,
                                                      "password": self.password}, allow_redirects=False) as r:
                if r.status in (302, 303):
                    return
            await asyncio.sleep(0.2)
        raise SystemExit(f"bench: {self.login} could not log in")

    async def open(self) -> None:
        connected = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read(connected))
        await asyncio.wait_for(connected, 30)

    async def _read(self, connected: asyncio.Future) -> None:
        async with self.http.get("/events", timeout=aiohttp.ClientTimeout(total=None)) as r:
            assert r.status == 200, r.status
            assert r.connection is not None and r.connection.transport is not None
            self.port = r.connection.transport.get_extra_info("sockname")[1]
            name = None
            async for raw in r.content:
                line = raw.decode().rstrip("\n")
                if line.startswith(": connected"):
                    connected.set_result(None)
                elif line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "pop":
                    self.pops.append((time.time(), json.loads(line[6:])))

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.http.close()


async def _gather_limited(jobs: list, at_once: int) -> None:
    gate = asyncio.Semaphore(at_once)

    async def one(job):
        async with gate:
            await job

    await asyncio.gather(*(one(j) for j in jobs))


async def _calls(url: str, work: Path, calls: int, start_ari, start_phones, sipp_calls, callers) -> dict:
    """The calls, with the bench's own LISTEN: each pop sent, as (Unix time heard, payload)."""
    sent: list[tuple[float, dict]] = []
    listener = await asyncpg.connect(url)
    await listener.add_listener(CHANNEL, lambda _c, _p, _ch, payload: sent.append((time.time(), json.loads(payload))))
    phones = start_phones()
    app = start_ari(work / "ari-operators.log")
    try:
        app.wait_for("registered as Stasis app")
        await asyncio.sleep(1)
        rows = [(caller, "74957654321") for caller, _ in callers]
        # In a thread: the streams are read on this loop meanwhile.
        result = await asyncio.to_thread(sipp_calls, rows, calls, 200, TALK_MS, work, 5094, rate=CALL_RATE)
        await asyncio.sleep(3)  # the last pops on their way
    finally:
        phones.terminate()
        app.stop()
        await listener.close()
    result["sent"] = sent
    # A call whose agent's phone was busy rings nobody at first: a lot of them (a phone held by an earlier
    # run's call left up in Asterisk) leave few ringing pops to time.
    result["busy"] = app.log_path.read_text(errors="replace").count("is busy on another call")
    return result


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Each process's CPU time so far (user + system), from /proc."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


async def _backends(url: str) -> list[int]:
    """The PostgreSQL processes serving the bench database (the web workers' pools)."""
    conn = await asyncpg.connect(url)
    try:
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'")]
    finally:
        await conn.close()


async def _pages(base: str, url: str, workers: list[int], streams: list[Stream], cards: list[int],
                 seconds: float) -> dict:
    """PAGE_CLIENTS logged-in operators asking for pages one after another for `seconds`: each answer's ms,
    and the CPU each page cost the web workers, PostgreSQL and this load client (the profile)."""
    times: dict[str, list[float]] = {p: [] for p in PAGES}
    statuses: Counter = Counter()
    rng = random.Random(25)
    deadline = time.monotonic() + seconds

    async def client(n: int, http: aiohttp.ClientSession) -> None:
        turn = n
        while time.monotonic() < deadline:
            page = PAGES[turn % len(PAGES)]
            turn += 1
            path = f"/counterparties/{rng.choice(cards)}" if page == "card" else "/" + page
            t = time.perf_counter()
            async with http.get(path, allow_redirects=False) as r:
                await r.read()
                statuses[(page, r.status)] += 1
            times[page].append((time.perf_counter() - t) * 1000)

    conn = await asyncpg.connect(url)
    try:
        profiled = await pg_statements.start(conn)
    finally:
        await conn.close()
    before = _cpu_seconds(workers) | _cpu_seconds(await _backends(url))
    mine = time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(client(n, s.http) for n, s in enumerate(streams[:PAGE_CLIENTS])))
    wall = time.monotonic() - started
    mine = time.process_time() - mine
    after_web, after_db = _cpu_seconds(workers), _cpu_seconds(await _backends(url))
    count = sum(map(len, times.values()))
    conn = await asyncpg.connect(url)
    try:
        statements = await pg_statements.top(conn) if profiled else []
    finally:
        await conn.close()

    def per_page(after: dict[int, float]) -> float:
        return sum(t - before.get(pid, 0.0) for pid, t in after.items()) / count * 1000

    return {"times": times, "statuses": dict(statuses), "rate": count / wall,
            "cpu_ms": (per_page(after_web), per_page(after_db), mine / count * 1000), "statements": statements}


async def bench_operators(url: str, work: Path, agents: list[str], call_seconds: int, page_seconds: int,
                          start_web: Callable, start_ari: Callable, start_phones: Callable, sipp_calls: Callable,
                          callers_of: Callable) -> dict:
    conn = await asyncpg.connect(url)
    try:
        logins = [(f"agent{ext}", AGENT_PASSWORD) for ext in agents]
        logins += [(login, PASSWORD) for login in await _make_operators(conn, OPERATORS - len(agents))]
        cards = [r["id"] for r in await conn.fetch(
            "SELECT id FROM counterparties WHERE kind = 'client' AND deleted_at IS NULL AND id % 997 = 1 LIMIT 500")]
    finally:
        await conn.close()
    callers = await callers_of(url, agents)
    web = start_web(work / "web-operators.log")
    base = f"http://127.0.0.1:{PORT}"
    streams = [Stream(base, login, password) for login, password in logins]
    try:
        web.wait_for("Application startup complete")
        while len(web_workers(web.proc.pid)) < 2:
            await asyncio.sleep(0.1)
        t = time.monotonic()
        await _gather_limited([s.log_in() for s in streams], 8)
        login_s = time.monotonic() - t
        # Agents' and others' streams interleaved: the kernel spreads them over the workers as they come.
        random.Random(1).shuffle(order := list(streams))
        await _gather_limited([s.open() for s in order], 20)
        owners = socket_owners(PORT, web_workers(web.proc.pid))
        worker_of = {s.login: owners.get(s.port, 0) for s in streams}
        conn = await asyncpg.connect(url)
        try:
            ids = dict(await conn.fetch("SELECT login, id FROM users WHERE login = ANY($1::text[])",
                                        [s.login for s in streams]))
        finally:
            await conn.close()
        for s in streams:
            s.user_id = ids[s.login]
        calls = await _calls(url, work, CALL_RATE * call_seconds, start_ari, start_phones, sipp_calls, callers)
        pops = _pop_latencies(streams, calls["sent"], worker_of)
        pages = await _pages(base, url, web_workers(web.proc.pid), streams, cards, page_seconds)
    finally:
        for s in streams:
            await s.close()
        web.stop()
    return {"login_s": login_s, "streams": len(streams), "workers": Counter(worker_of.values()), "calls": calls,
            "pops": pops, "pages": pages}


def _pop_latencies(streams: list[Stream], sent: list[tuple[float, dict]], worker_of: dict[str, int]) -> dict:
    """Each ringing pop's ms from StasisStart to the bench's LISTEN and to the rung user's stream; whether
    every pop sent reached its user's stream, and no other."""
    sent = [(at, p) for at, p in sent if "sse" not in p]  # the channel's notifications are no pops
    heard = {(p["user_id"], p["channel_id"], p["event"]): at for at, p in sent}
    by_user = {s.user_id: s for s in streams}
    wrong = sum(1 for s in streams for _, p in s.pops if p["user_id"] != s.user_id)
    missing = sum(1 for _, p in sent if p["user_id"] in by_user and
                  not any(q == p for _, q in by_user[p["user_id"]].pops))
    total, app, web = [], [], []
    per_worker: Counter = Counter()
    for s in streams:
        for arrived, p in s.pops:
            if p["event"] != "ringing" or p.get("entered_at") is None:
                continue
            per_worker[worker_of[s.login]] += 1
            total.append((arrived - p["entered_at"]) * 1000)
            notified = heard.get((p["user_id"], p["channel_id"], p["event"]))
            if notified is not None:
                app.append((notified - p["entered_at"]) * 1000)
                web.append((arrived - notified) * 1000)
    return {"total": total, "app": app, "web": web, "sent": len(sent), "wrong": wrong, "missing": missing,
            "per_worker": per_worker}


def operators_rows(r: dict) -> list[tuple]:
    p, calls, pages = r["pops"], r["calls"], r["pages"]
    ratio = pct(p["total"], 0.99) / POP_TARGET_MS
    rows = [
        ("Many operators: StasisStart -> screen pop at the stream", f"{median(p['total']):.1f} ms",
         f"p99 {pct(p['total'], 0.99):.1f} ms", f"p99 <= {POP_TARGET_MS} ms",
         f"{ratio:.2f}; {len(p['total'])} ringing pops, {r['streams']} streams open"),
        ("  of which: app (StasisStart -> NOTIFY) / web (NOTIFY -> stream)",
         f"{median(p['app']):.1f} / {median(p['web']):.1f} ms",
         f"p99 {pct(p['app'], 0.99):.1f} / {pct(p['web'], 0.99):.1f} ms", "", "profile"),
        ("  calls and pops", f"{calls['ok']} calls ok at {CALL_RATE}/s",
         f"{calls['failed']} failed, {calls.get('busy', 0)} found the agent busy",
         "every pop, right stream",
         f"{p['sent']} pops sent, {p['missing']} missing, {p['wrong']} on a wrong stream; ringing pops by worker: "
         + " / ".join(str(p["per_worker"].get(w, 0)) for w in sorted(r["workers"]))),
    ]
    every = [ms for values in pages["times"].values() for ms in values]
    rows.append((f"Pages under {PAGE_CLIENTS} concurrent requests (lists and cards)",
                 f"{median(every):.1f} ms", f"p95 {pct(every, 0.95):.1f} ms", f"p95 <= {PAGE_TARGET_MS} ms",
                 f"{pct(every, 0.95) / PAGE_TARGET_MS:.2f}; {len(every)} pages, {pages['rate']:.0f} pages/s"))
    for page, values in pages["times"].items():
        bad = sum(n for (name, status), n in pages["statuses"].items() if name == page and status != 200)
        rows.append((f"  {page}", f"{median(values):.1f} ms", f"p95 {pct(values, 0.95):.1f} ms",
                     f"p95 <= {PAGE_TARGET_MS} ms", f"{pct(values, 0.95) / PAGE_TARGET_MS:.2f}; {len(values)} pages"
                     + (f", {bad} not 200" if bad else "")))
    web_ms, db_ms, client_ms = pages["cpu_ms"]
    floor = PAGE_CLIENTS * (web_ms + db_ms + client_ms) / (os.cpu_count() or 1)
    rows.append(("  profile: CPU per page, web / PostgreSQL / load client", f"{web_ms:.1f} / {db_ms:.1f} / "
                 f"{client_ms:.1f} ms", f"{PAGE_CLIENTS} at once on {os.cpu_count()} cores: >= {floor:.0f} ms each",
                 "", "the wait CPU alone makes (all of it on these cores)"))
    for st in pages.get("statements", []):
        rows.append((f"  PostgreSQL: {pg_statements.summary(st['query'])}",
                     f"{st['total_ms'] / len(every):.2f} ms/page", f"{st['calls']} calls, mean {st['mean_ms']:.2f} ms",
                     "", "pg_stat_statements, most time first"))
    rows.append(("  set-up", f"{r['streams']} logins in {r['login_s']:.0f} s", "streams by worker: "
                 + " / ".join(str(n) for _, n in sorted(r["workers"].items())), "", "pbxcrm web --workers 2"))
    return rows
