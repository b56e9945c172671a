"""`pbxcrm ari` as a process: its mp3 converter dies with it, however it dies (issue 16, part).

A SIGKILLed app used to leave its ProcessPoolExecutor worker running, and that
worker ignored SIGTERM (it inherited asyncio's signal handling): `make test`
left stray `python -m pbxcrm ari` processes behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from tests.call_flow_support import fake, spec  # noqa: F401  (fixtures are used by name)
from tests.processes import PbxcrmProcess


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has already died


async def started_app(fake, database_url, tmp_path) -> tuple[PbxcrmProcess, list[int]]:  # noqa: F811
    env = dict(os.environ, DATABASE_URL=database_url, PBXCRM_ARI_URL=fake.url,
               PBXCRM_RECORDINGS_DIR=str(tmp_path / "recordings"))
    app = PbxcrmProcess(["ari"], env, tmp_path / "ari.log")
    app.spawn()
    assert app.proc is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not ("registered as Stasis app" in app.log_text() and children(app.proc.pid)):
        assert not app.exited, app.log_text()
        await asyncio.sleep(0.05)
    kids = children(app.proc.pid)
    assert kids, "the app started no converter worker:\n" + app.log_text()
    return app, kids


async def gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def running_app(db, database_url, fake, tmp_path):  # noqa: F811
    """`pbxcrm ari` and its converter's pid(s); whatever a test leaves alive is killed after it."""
    app, kids = await started_app(fake, database_url, tmp_path)
    yield app, kids
    for pid in kids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    app.stop()


async def test_a_killed_app_takes_its_converter_with_it(running_app):
    app, kids = running_app
    app.proc.kill()
    app.proc.wait()
    assert await gone(kids, 3), f"converter {kids} outlived the SIGKILLed app"


async def test_sigterm_stops_the_app_and_its_converter_within_seconds(running_app):
    app, kids = running_app
    started = time.monotonic()
    app.proc.terminate()
    # 10 s is the promise (issue 16); the wait allows more so a slow stop fails the assertion, not the wait.
    await asyncio.to_thread(app.proc.wait, 30)
    assert time.monotonic() - started < 10, app.log_text()
    assert await gone(kids, 5), f"converter {kids} outlived the app"


async def test_the_converter_obeys_sigterm_on_its_own(running_app):
    _, kids = running_app
    os.kill(kids[0], signal.SIGTERM)
    assert await gone(kids[:1], 3), "the converter ignored SIGTERM"
