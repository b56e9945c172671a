"""The demo's live calls (issue 19): simulated phones for the operators and managers (sipp UAS on
the ports the sandbox's pjsip.conf gives their extensions: 201-216 share port 5200, extension N
of 101-105 is port 5000 + N; the sandbox's phones have static contacts, so they need not register)
answer with audio, and callers - the clients of the database and strangers - ring the demo's lines
a few times a minute over the trunk. `pbxcrm demo-calls` runs it until SIGTERM or Ctrl-C, which
stop every sipp it started; `pbxcrm demo-call` places one call from a manager's client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from crm.demo import texts

log = logging.getLogger(__name__)
SIPP = Path(__file__).parent / "sipp"
ASTERISK_SIP = "127.0.0.1:5060"
OPERATOR_PORT = 5200  # asterisk-conf/pjsip_bench.conf


@dataclass(frozen=True)
class Caller:
    number: str
    name: str
    did: str
    talk_ms: int


def pick(rnd: random.Random, clients: list[tuple[str, str]], talk_ms: tuple[int, int] = (12_000, 45_000)) -> Caller:
    """The next caller: mostly a known client (number, name), else a stranger; the main line mostly."""
    did = rnd.choices([did for _, did, _ in texts.LINES], weights=(6, 2.5, 1.5))[0]
    if clients and rnd.random() < 0.7:
        number, name = rnd.choice(clients)
        number = "8" + number[2:] if number.startswith("+7") else number
    else:
        number, name = f"89{rnd.randrange(10**9):09d}", ""
    return Caller(number, name, did, rnd.randrange(*talk_ms))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _sipp(*args: str, log_dir: Path, name: str) -> asyncio.subprocess.Process:
    out = open(log_dir / f"sipp-{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    try:
        return await asyncio.create_subprocess_exec(
            "sipp", *args, "-i", "127.0.0.1", "-nostdin", stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT, cwd=str(log_dir))
    finally:
        out.close()


async def _stop(procs: list[asyncio.subprocess.Process], timeout: float = 3.0) -> None:
    """Every process ended: SIGTERM, then SIGKILL for those still there after `timeout` (sipp in the
    middle of a call may ignore SIGTERM)."""
    for p in procs:
        if p.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                p.terminate()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), timeout)
    for p in procs:
        if p.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            await p.wait()


def phone_ports(manager_extensions: list[str], browser: frozenset[str] = frozenset()) -> list[int]:
    """The simulated phones' ports: the operators' one, and one per manager's desk (101-105) but
    those whose calls the person at the browser takes (`browser`: their extensions)."""
    return [OPERATOR_PORT] + [5000 + int(e) for e in manager_extensions
                              if e.isdigit() and 101 <= int(e) <= 105 and e not in browser]


async def to_browser(conn: asyncpg.Connection, login: str) -> str | None:
    """The demo's manager takes her calls in the browser phone (issue 19): her phone mode is set as
    on her account page (audited); her extension, which no simulated phone answers then."""
    from crm.dialing import queries as dialing_q

    user = await conn.fetchrow("SELECT id, extension FROM users WHERE login = $1 AND deleted_at IS NULL", login)
    if user is None or user["extension"] is None:
        return None
    await dialing_q.set_own_phone_mode(conn, user["id"], "browser")
    return user["extension"]


async def start_phones(manager_extensions: list[str], log_dir: Path,
                       browser: frozenset[str] = frozenset()) -> list[asyncio.subprocess.Process]:
    """The answering phones: one sipp for the operators' extensions, one per manager's (101-105)."""
    ports = phone_ports(manager_extensions, browser)
    procs = []
    for port in ports:
        procs.append(await _sipp("-sf", str(SIPP / "phone.xml"), "-p", str(port), "-mp", str(_free_udp_port()),
                                 log_dir=log_dir, name=f"phone-{port}"))
    await asyncio.sleep(0.3)
    dead = [p for p in procs if p.returncode is not None]
    if dead:
        await _stop(procs)
        raise RuntimeError(f"a demo phone did not start (port taken?); see {log_dir}/sipp-phone-*.log")
    return procs


async def call(caller: Caller, log_dir: Path) -> asyncio.subprocess.Process:
    log.info("demo call from %s %s to %s", caller.number, caller.name, caller.did)
    return await _sipp("-sf", str(SIPP / "caller.xml"), "-key", "caller", caller.number,
                       "-key", "caller_name", caller.name or caller.number, "-s", caller.did,
                       "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()), "-m", "1",
                       "-d", str(caller.talk_ms), "-timeout", "120s", "-timeout_error", ASTERISK_SIP,
                       log_dir=log_dir, name="callers")


async def known_callers(conn: asyncpg.Connection, manager_id: int | None = None) -> list[tuple[str, str]]:
    """(phone number, name) of clients with a manager who has an extension (of one manager's)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (cp.id) k.normalized, cp.display_name FROM counterparties cp
           JOIN users u ON u.id = cp.responsible_user_id AND u.extension IS NOT NULL AND u.deleted_at IS NULL
           JOIN contacts k ON k.counterparty_id = cp.id AND k.kind = 'phone' AND k.normalized LIKE '+7%'
           WHERE cp.kind = 'client' AND cp.deleted_at IS NULL AND ($1::bigint IS NULL OR u.id = $1)
           ORDER BY cp.id, k.id LIMIT 300""", manager_id)
    return [(r["normalized"], r["display_name"]) for r in rows]


async def run(database_url: str, log_dir: Path, *, every: float = 20.0, duration: float | None = None,
              talk_ms: tuple[int, int] = (12_000, 45_000), drain: float = 3.0,
              seed_value: int | None = None, browser_login: str | None = None) -> tuple[int, list[str]]:
    """Phones up, a caller about every `every` seconds, until a signal (or `duration`); then the calls
    in progress get `drain` seconds to end by themselves, and every sipp is stopped before returning
    (a caller stopped mid-call sends no BYE: its channel stays in Asterisk until hung up - the caller
    numbers returned, for pbxcrm/demo.py to hang up through ARI). (calls placed, numbers cut off).
    `browser_login`: the manager the person at the browser plays, whose calls her browser phone takes."""
    log_dir.mkdir(parents=True, exist_ok=True)
    conn = await asyncpg.connect(database_url)
    try:
        clients = await known_callers(conn)
        managers = [r["extension"] for r in await conn.fetch(
            "SELECT extension FROM users WHERE role = 'manager' AND extension IS NOT NULL AND deleted_at IS NULL")]
        in_browser = await to_browser(conn, browser_login) if browser_login else None
    finally:
        await conn.close()
    rnd = random.Random(seed_value)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if duration:
        loop.call_later(duration, stop.set)
    phones = await start_phones(managers, log_dir, frozenset({in_browser}) if in_browser else frozenset())
    callers: list[tuple[asyncio.subprocess.Process, str]] = []
    placed = 0
    cut: list[str] = []
    try:
        while not stop.is_set():
            callers = [(p, n) for p, n in callers if p.returncode is None]
            caller = pick(rnd, clients, talk_ms)
            callers.append((await call(caller, log_dir), caller.number))
            placed += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), rnd.uniform(every * 0.5, every * 1.5))
        live = [p for p, _ in callers if p.returncode is None]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in live)), drain)
        cut = [n for p, n in callers if p.returncode is None]
    finally:
        await _stop([p for p, _ in callers] + phones)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return placed, cut
