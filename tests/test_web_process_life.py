"""`pbxcrm web` as a process (issue 16): SIGTERM ends it within 10 s while a browser holds its
screen-pop stream open (GET /events never ends by itself), and the workers of
`--workers N` die with the supervisor, even a SIGKILLed one."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import pytest

from tests.browser import WebServerProcess
from tests.helpers import PASSWORD, csrf_from, make_user
from tests.processes import children, gone


@pytest.fixture
async def web_process(db, database_url, tmp_path):
    started: list[WebServerProcess] = []

    async def start(workers: int) -> WebServerProcess:
        server = WebServerProcess(dict(os.environ, DATABASE_URL=database_url), tmp_path / f"web-{len(started)}.log")
        server.args += ["--workers", str(workers)]
        started.append(server)
        await server.start()
        return server

    yield start
    for server in started:
        server.stop()


async def _open_event_stream(server: WebServerProcess, session: aiohttp.ClientSession) -> aiohttp.ClientResponse:
    """Logged in as a user, the screen-pop stream open as a browser keeps it."""
    async with session.get(server.url + "/login") as r:
        csrf = csrf_from(await r.text())
    async with session.post(server.url + "/login", data={"login": "ivanova", "password": PASSWORD,
                                                          "csrf_token": csrf}, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    stream = await session.get(server.url + "/events")
    assert stream.status == 200
    assert b"connected" in await stream.content.readuntil(b"\n\n")
    return stream


async def _workers(server: WebServerProcess, count: int) -> list[int]:
    assert server.proc is not None
    deadline = time.monotonic() + 15
    while len(kids := children(server.proc.pid)) < count:
        assert time.monotonic() < deadline, f"{len(kids)} worker(s):\n{server.log_text()}"
        await asyncio.sleep(0.1)
    return kids


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_ends_the_web_server_within_10_s_with_an_event_stream_open(db, web_process, workers):
    await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    server = await web_process(workers)
    kids = await _workers(server, workers) if workers > 1 else []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # cookies of an IP
        stream = await _open_event_stream(server, session)
        assert server.proc is not None
        started = time.monotonic()
        server.proc.terminate()
        await asyncio.to_thread(server.proc.wait, 30)
        took = time.monotonic() - started
        stream.close()
    print(f"\nSIGTERM to pbxcrm web --workers {workers} with a pop stream open: exited in {took:.2f} s")
    assert took < 10, server.log_text()
    assert await gone(kids, 5), f"workers {kids} outlived the server"


async def test_the_workers_die_with_a_killed_supervisor(db, web_process):
    await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    server = await web_process(2)
    kids = await _workers(server, 2)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # cookies of an IP
        stream = await _open_event_stream(server, session)
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait()
        # Told with SIGTERM, a worker stops gracefully: 5 s at most for open requests.
        assert await gone(kids, 8), f"workers {kids} outlived the SIGKILLed supervisor"
        stream.close()
