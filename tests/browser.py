"""The web UI as a real server process, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from tests.processes import PbxcrmProcess

CHROMIUM = os.environ.get("PBXCRM_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless Chromium as root on a machine with no outside network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Browser contexts logged_in_page opened, by the server's address: WebServerProcess.close() closes them.
_CONTEXTS: dict[str, list] = {}


class WebServerProcess(PbxcrmProcess):
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(["web", "--port", str(self.port)], env, log_path)

    async def close(self) -> None:
        """The browser pages logged in on this server closed, then the server stopped: a page left open
        keeps its event stream (/events), and the server's stop waits out its graceful 5 s for it."""
        for context in _CONTEXTS.pop(self.url, []):
            await context.close()
        self.stop()

    async def start(self, timeout: float = 15.0) -> None:
        self.spawn()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if self.exited:
                    pytest.fail(f"pbxcrm web exited:\n{self.log_text()}")
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"pbxcrm web did not answer in {timeout} s")


async def logged_in_page(chromium, base_url: str, login: str, password: str, *, landing: str = "/clients",
                         init_script: str | None = None):
    """A fresh browser context, logged in; waits for the page the login lands on."""
    context = await chromium.new_context()
    _CONTEXTS.setdefault(base_url, []).append(context)
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(base_url + "/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(base_url + landing)
    return page
