"""The web UI as a real server process, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

CHROMIUM = os.environ.get("PBXCRM_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless Chromium as root on a machine with no outside network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServerProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    async def start(self, timeout: float = 15.0) -> None:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "pbxcrm", "web", "--port", str(self.port)],
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"pbxcrm web exited:\n{self.log_path.read_text()[-3000:]}")
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"pbxcrm web did not answer in {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc:
            self._log.close()
