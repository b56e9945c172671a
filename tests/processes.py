"""A pbxcrm command run as its own process for a test, with its output in a log file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class PbxcrmProcess:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.args = args
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def spawn(self) -> None:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "pbxcrm", *self.args], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def web_workers(pid: int) -> list[int]:
    """The worker processes of `pbxcrm web --workers N` (uvicorn's, started by multiprocessing's spawn;
    not its resource tracker)."""
    workers = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
        except OSError:  # gone
            continue
    return workers


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return False
    return "\nState:\tZ" not in status  # a zombie has already died


async def gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        await asyncio.sleep(0.05)
    return False


def socket_owners(server_port: int, pids: list[int]) -> dict[int, int]:
    """Which of these processes holds each TCP connection accepted on `server_port` (IPv4): {the client's
    port: its pid}, read from /proc. Tells which worker of `pbxcrm web --workers N` serves a connection."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:  # gone
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:  # closed while listed
                continue
            if link.startswith("socket:["):
                inodes[link[8:-1]] = pid
    owners = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.rsplit(":", 1)[1], 16) == server_port and inode in inodes:
            owners[int(remote.rsplit(":", 1)[1], 16)] = inodes[inode]
    return owners
