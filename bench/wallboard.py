"""`make bench`, the wallboard (issue 18): event-to-browser latency with 20 calls in progress and 5
wallboards open. The wallboards are aiohttp readers of /wallboard/events on a `pbxcrm web` process;
each event is a write of the call log as the Stasis app makes it (crm/calls/queries.py: a caller starts
waiting in a queue, then is answered), timed from just before the write to the arrival of the board
that shows it at each reader. Also the board's rebuild on the server (crm/wallboard/queries.snapshot)."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from pathlib import Path

import aiohttp
import asyncpg

from crm.calls import queries as calls_q
from crm.transfers import queries as transfers_q
from crm.users.accounts import NewUser, create_user
from crm.wallboard.queries import snapshot

BOARDS = 5
IN_PROGRESS = 20  # half of them talking to an agent, half waiting in the queue
PORT = 8098
PREFIX = "bench-wb-"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _prepare(conn: asyncpg.Connection, agents: list[str]) -> int:
    """A queue with the bench's agents, a supervisor, and 20 calls going on in it; the queue's id."""
    await conn.execute("UPDATE calls SET ended_at = now() WHERE channel_id LIKE $1 AND ended_at IS NULL", PREFIX + "%")
    if not await conn.fetchval("SELECT 1 FROM users WHERE login = 'bench-supervisor'"):
        await create_user(conn, NewUser(login="bench-supervisor", full_name="Bench Supervisor",
                                        password="bench-password", role="supervisor"))
    queue = await conn.fetchval("SELECT id FROM queues WHERE name = 'Bench wallboard' AND deleted_at IS NULL")
    if queue is None:
        queue = await conn.fetchval("INSERT INTO queues (name) VALUES ('Bench wallboard') RETURNING id")
    users = await conn.fetch("SELECT id, full_name FROM users WHERE extension = ANY($1::text[]) AND deleted_at IS NULL",
                             agents)
    await conn.execute("DELETE FROM queue_members WHERE queue_id = $1", queue)
    await conn.executemany("INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, $3)",
                           [(queue, u["id"], n) for n, u in enumerate(users)])
    for n in range(IN_PROGRESS):
        channel = f"{PREFIX}live-{time.time_ns()}-{n}"
        await _new_call(conn, channel)
        await calls_q.mark_queued(conn, channel, queue)
        if n % 2 == 0:
            user = users[(n // 2) % len(users)]
            now = await conn.fetchval("SELECT now()")
            await calls_q.mark_answered(conn, channel, now, user["id"], queue)
            await transfers_q.start_leg(conn, channel_id=channel, user_id=user["id"], name=user["full_name"],
                                        number="", how="answered", transferred_by=None, answered_at=now)
    return queue


async def _new_call(conn: asyncpg.Connection, channel: str) -> int:
    return await calls_q.insert_call(
        conn, channel_id=channel, direction="incoming", caller_number="74950000000", caller_normalized=None,
        caller_name="", called_number="74957654321", called_normalized=None, line="trunk",
        started_at=await conn.fetchval("SELECT now()"), linked_id=None)


class Reader:
    """One open wallboard: every board it receives, with its arrival time (monotonic)."""

    def __init__(self, session: aiohttp.ClientSession, base: str):
        self.session, self.base = session, base
        self.boards: list[tuple[float, str]] = []
        self.arrived = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        async with self.session.get(self.base + "/wallboard/events",
                                    timeout=aiohttp.ClientTimeout(total=None)) as r:
            name = None
            async for raw in r.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "board":
                    self.boards.append((time.monotonic(), line))
                    self.arrived.set()

    async def first_after(self, since: float, holds) -> float:
        """When the first board received after `since` for which holds(html) came."""
        seen = 0
        while True:
            for at, html in self.boards[seen:]:
                if at >= since and holds(html):
                    return at
            seen = len(self.boards)
            self.arrived.clear()
            await self.arrived.wait()


async def _login(base: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base})
    page = await (await session.get(base + "/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = await session.post(base + "/login", data={"csrf_token": token, "login": "bench-supervisor",
                                                  "password": "bench-password"}, allow_redirects=False)
    assert r.status in (302, 303), await r.text()
    return session


async def bench_wallboard(url: str, work: Path, events: int, agents: list[str], start_web) -> dict:
    """`events` callers queue and are answered, one after another, while 20 calls go on and 5 wallboards
    are open: the latency of each change at each board (ms), and of a rebuild on the server."""
    conn = await asyncpg.connect(url)
    web = None
    sessions: list[aiohttp.ClientSession] = []
    readers: list[Reader] = []
    try:
        queue = await _prepare(conn, agents)
        user = await conn.fetchval("SELECT id FROM users WHERE login = 'bench-supervisor'")
        rebuild = []
        for _ in range(30):
            t = time.perf_counter()
            await snapshot(conn, timezone="Europe/Moscow")
            rebuild.append((time.perf_counter() - t) * 1000)
        web = start_web(work / "web-wallboard.log")
        web.wait_for("Application startup complete")
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(BOARDS):
            session = await _login(base)
            sessions.append(session)
            reader = Reader(session, base)
            reader.task = asyncio.create_task(reader.run())
            readers.append(reader)
        await asyncio.wait_for(asyncio.gather(*(r.first_after(0, lambda h: True) for r in readers)), 10)
        shown, gone = [], []
        for n in range(events):
            channel = f"{PREFIX}{time.time_ns()}-{n}"
            call_id = await _new_call(conn, channel)
            mark = f'class=\\"waiting-caller\\" data-call=\\"{call_id}\\"'
            t0 = time.monotonic()
            await calls_q.mark_queued(conn, channel, queue)
            arrivals = await asyncio.wait_for(asyncio.gather(
                *(r.first_after(t0, lambda h: mark in h) for r in readers)), 10)  # noqa: B023 (awaited here)
            shown += [(a - t0) * 1000 for a in arrivals]
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            now = await conn.fetchval("SELECT now()")
            await calls_q.mark_answered(conn, channel, now, None, queue)
            arrivals = await asyncio.wait_for(asyncio.gather(
                *(r.first_after(t0, lambda h: mark not in h) for r in readers)), 10)  # noqa: B023
            gone += [(a - t0) * 1000 for a in arrivals]
            await calls_q.mark_ended(conn, channel, now, 16)
            await asyncio.sleep(0.1)
        both = shown + gone
        return {"events": events, "n": len(both), "median": statistics.median(both), "p99": pct(both, 0.99),
                "shown": (statistics.median(shown), pct(shown, 0.99)),
                "gone": (statistics.median(gone), pct(gone, 0.99)),
                "rebuild": (statistics.median(rebuild), pct(rebuild, 0.99)), "user": user}
    finally:
        for r in readers:
            if r.task:
                r.task.cancel()
        for s in sessions:
            await s.close()
        if web is not None:
            web.stop()
        await conn.execute("UPDATE calls SET ended_at = now() WHERE channel_id LIKE $1 AND ended_at IS NULL",
                           PREFIX + "%")
        await conn.close()


def wallboard_rows(r: dict) -> list[tuple]:
    return [("Wallboard: event -> board at the browser", f"{r['median']:.1f} ms", f"p99 {r['p99']:.1f} ms",
             "<= 1 s", f"{r['n']} arrivals: {r['events']} callers queued and answered x {BOARDS} boards, "
                       f"{IN_PROGRESS} calls in progress"),
            ("  caller shown / caller gone", f"{r['shown'][0]:.1f} / {r['gone'][0]:.1f} ms",
             f"p99 {r['shown'][1]:.1f} / {r['gone'][1]:.1f} ms", "", "SSE readers (aiohttp)"),
            ("  board rebuilt on the server (one reader)", f"{r['rebuild'][0]:.1f} ms", f"p99 {r['rebuild'][1]:.1f} ms",
             "", "crm/wallboard/queries.snapshot")]
