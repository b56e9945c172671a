"""The SMSC peer for the SMS tests and the bench: tests/smsc.pl (Net::SMPP's SMSC role) on loopback,
and an SMPP gateway row pointing at it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg

from tests.processes import PbxcrmProcess

SCRIPT = Path(__file__).resolve().parent / "smsc.pl"
OUR_NUMBER = "+74950000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smsc:
    def __init__(self, work: Path, **options: str | int | float) -> None:
        self.dir = work
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.options = options
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Smsc":
        args = [f"{k}={v}" for k, v in self.options.items()]
        self.log = open(self.dir / "smsc.log", "ab")
        # Its own process group: the connections' forked children go with it.
        self.proc = subprocess.Popen(["perl", str(SCRIPT), str(self.port), str(self.dir), *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"smsc.pl did not start: {(self.dir / 'smsc.log').read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def _lines(self, name: str) -> list[dict]:
        path = self.dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def submits(self) -> list[dict]:
        return self._lines("submits.jsonl")

    def receipts_sent(self) -> list[dict]:
        """The delivery receipts it sent: {"id", "stat", "at"} (time.time() of the sending)."""
        return self._lines("receipts.jsonl")

    def accepted(self) -> list[dict]:
        return [s for s in self.submits() if s["status"] == 0]

    def refuse_binds(self, refuse: bool) -> None:
        flag = self.dir / "refuse-bind"
        if refuse:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def send_mo(self, sender: str, recipient: str, text: str, parts: int = 1) -> None:
        tmp = self.dir / "mo" / f"{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps({"from": sender, "to": recipient, "text": text, "parts": parts}))
        tmp.rename(tmp.with_suffix(".json"))

    def config(self, **more: object) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "system_id": "pbxcrm", "password": "secret",
                "enquire_link_seconds": 5, "reconnect_max_seconds": 1, **more}


def start_worker(database_url: str, log_path: Path, **env: str) -> PbxcrmProcess:
    """`pbxcrm sms` as its own process (PBXCRM_SMS_* settings in env), its output in log_path."""
    proc = PbxcrmProcess(["sms"], dict(os.environ, DATABASE_URL=database_url, **env), log_path)
    proc.spawn()
    return proc


def start_fast_worker(database_url: str, log_path: Path) -> PbxcrmProcess:
    """`pbxcrm sms` with short leases and retries, so a killed worker's messages come back within seconds."""
    return start_worker(database_url, log_path, PBXCRM_SMS_LEASE_SECONDS="4", PBXCRM_SMS_RETRY_BASE_SECONDS="1",
                        PBXCRM_SMS_RETRY_MAX_SECONDS="2", PBXCRM_SMS_MAX_ATTEMPTS="20")


async def wait_until(check, timeout: float, what: str) -> None:
    """Poll the coroutine function `check` every 0.1 s until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)


async def add_gateway(conn: asyncpg.Connection, config: dict, number: str = OUR_NUMBER) -> int:
    gateway_id = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ($1, 'smpp', $2) "
                                     "RETURNING id", f"smsc {config['port']}", json.dumps(config))
    await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ($1, $2, true)",
                       number, gateway_id)
    return gateway_id


async def queue(conn: asyncpg.Connection, gateway_id: int, phone: str, body: str,
                counterparty_id: int | None = None) -> int:
    """A message queued from our number as the card's chat queues it (crm.sms.queries.queue_outgoing)."""
    from crm.sms.queries import queue_outgoing

    return await queue_outgoing(conn, phone=phone, body=body, counterparty_id=counterparty_id, user_id=None,
                                own_number=OUR_NUMBER, gateway_id=gateway_id)
