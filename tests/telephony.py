"""Driving the sandbox Asterisk in tests: the Stasis app as a process, sipp calls."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from ari_app.client import basic_auth
from tests.processes import PbxcrmProcess

SIPP_DIR = Path(__file__).with_name("sipp")
ASTERISK_SIP = "127.0.0.1:5060"


def ari_settings() -> tuple[str, dict[str, str]]:
    url = os.environ.get("PBXCRM_ARI_URL", "http://127.0.0.1:8088")
    auth = basic_auth(os.environ.get("PBXCRM_ARI_USER", "pbxcrm"),
                      os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"))
    return url, {"Authorization": auth}


async def ari_get(path: str):
    url, headers = ari_settings()
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=3)) as s:
        async with s.get(f"{url}/ari{path}") as r:
            return r.status, (await r.json() if r.content_type == "application/json" else None)


async def require_sandbox() -> None:
    """Telephony tests need the sandbox; without it they fail, never skip."""
    try:
        status, _ = await ari_get("/asterisk/info")
    except (aiohttp.ClientError, asyncio.TimeoutError) as e:
        pytest.fail(f"the Asterisk sandbox does not answer ({e}); `make test` brings it up")
    if status != 200:
        pytest.fail(f"the Asterisk sandbox answered {status} to /asterisk/info")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StasisAppProcess(PbxcrmProcess):
    """`pbxcrm ari` as its own process, the way production runs it."""

    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(["ari"], env, log_path)

    async def start(self, timeout: float = 10.0) -> None:
        app = self.env.get("PBXCRM_ARI_APP", "pbxcrm")
        status, _ = await ari_get(f"/applications/{app}")
        if status == 200:
            pytest.fail(f"another process is already registered as Stasis app {app!r} in the sandbox "
                        "(a running `make demo`?); stop it first")
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited:
                pytest.fail(f"pbxcrm ari exited with {self.proc.returncode}:\n{self.log_text()}")
            status, _ = await ari_get(f"/applications/{app}")
            if status == 200:
                return
            await asyncio.sleep(0.1)
        pytest.fail(f"pbxcrm ari did not register app {app} in {timeout} s:\n{self.log_text()}")


@dataclass
class SippResult:
    returncode: int
    output: str


async def sipp_call(*, caller: str, called: str, caller_name: str = "", talk_ms: int = 1000,
                    scenario: str = "caller.xml", timeout: float = 30.0) -> SippResult:
    """One call from the trunk side into the sandbox, with a real SIP dialog and RTP port."""
    args = ["sipp", "-sf", str(SIPP_DIR / scenario), "-key", "caller", caller,
            "-key", "caller_name", caller_name or caller, "-s", called,
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
            "-m", "1", "-d", str(talk_ms), "-nostdin", "-timeout", f"{int(timeout)}s",
            "-timeout_error", ASTERISK_SIP]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd="/tmp")
    out, _ = await asyncio.wait_for(proc.communicate(), timeout + 5)
    return SippResult(proc.returncode, out.decode(errors="replace")[-3000:])


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval)
