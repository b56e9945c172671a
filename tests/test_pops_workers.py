"""Screen pops with `pbxcrm web --workers 2` (issue 25): every worker LISTENs for the pops and keeps only
its own streams' users (web/pops.py), so a pop reaches each of its user's open streams (/events) whichever
worker holds it, and no other user's stream."""

from __future__ import annotations

import asyncio
import json
import os

import aiohttp

from crm.pops.events import PopEvent, notify
from tests.browser import WebServerProcess
from tests.helpers import PASSWORD, csrf_from, make_user
from tests.processes import socket_owners, web_workers
from tests.test_reliable_reminders import _read_until

USERS = 8
TABS = 2  # each user's streams: two tabs, often on two workers


async def _logged_in(base: str, login: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base})
    async with http.get("/login") as r:
        token = csrf_from(await r.text())
    async with http.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False) as r:
        assert r.status in (302, 303), await r.text()
    return http


async def _pops_until(stream: aiohttp.ClientResponse, last_event: str) -> list[dict]:
    """The pops the stream brings, up to and including the first `last_event` one."""
    pops: list[dict] = []
    name = None
    async with asyncio.timeout(10):
        while not pops or pops[-1]["event"] != last_event:
            line = (await stream.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "pop":
                pops.append(json.loads(line[6:]))
    return pops


async def test_a_pop_reaches_its_users_streams_on_either_worker_and_no_one_elses(db, database_url, tmp_path):
    users = [await make_user(db, f"op{n}", "operator") for n in range(USERS)]
    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / "web.log")
    web.args += ["--workers", "2"]
    await web.start()
    sessions: list[aiohttp.ClientSession] = []
    streams: list[tuple[dict, aiohttp.ClientResponse]] = []
    try:
        assert web.proc is not None
        async with asyncio.timeout(15):
            while len(workers := web_workers(web.proc.pid)) < 2:
                await asyncio.sleep(0.1)
        for user in users:
            http = await _logged_in(web.url, user["login"])
            sessions.append(http)
            for _ in range(TABS):
                stream = await http.get("/events", timeout=aiohttp.ClientTimeout(total=None))
                await _read_until(stream, ": connected")
                streams.append((user, stream))
        owners = socket_owners(web.port, workers)
        held = {owners[s.connection.transport.get_extra_info("sockname")[1]] for _, s in streams}
        # The kernel hands each new connection to a worker: both took some (else the test proves nothing).
        assert held == set(workers), f"streams held by {held}, workers {workers}"

        async with db.acquire() as conn:
            for event in ("ringing", "ended"):
                for user in users:
                    await notify(conn, PopEvent(user["id"], event, f"ch-{user['id']}", "incoming", "84951234567",
                                                None, "", entered_at=1.5))
        for user, stream in streams:
            pops = await _pops_until(stream, "ended")
            assert [(p["user_id"], p["event"], p["channel_id"]) for p in pops] == \
                [(user["id"], "ringing", f"ch-{user['id']}"), (user["id"], "ended", f"ch-{user['id']}")]
            assert pops[0]["entered_at"] == 1.5  # the StasisStart's time the bench measures from
    finally:
        for _, stream in streams:
            stream.close()
        for http in sessions:
            await http.close()
        await web.close()
