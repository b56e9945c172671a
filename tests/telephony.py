"""Driving the sandbox Asterisk in tests: the Stasis app as a process, sipp calls."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from ari_app.client import basic_auth
from tests.processes import REPO, PbxcrmProcess

SIPP_DIR = Path(__file__).with_name("sipp")
# The sandbox's root (scripts/sandbox.sh), and the greetings directory inside it as the CRM writes
# it and as the chrooted Asterisk plays it (PBXCRM_GREETINGS_DIR, PBXCRM_GREETINGS_ASTERISK_DIR).
SANDBOX_ROOT = Path(os.environ.get("PBXCRM_SANDBOX_ROOT", "/var/lib/pbxcrm/sandbox"))
ASTERISK_GREETINGS = "/var/lib/asterisk/sounds/pbxcrm"
ASTERISK_SIP = "127.0.0.1:5060"
# The sandbox trunk's contact (asterisk-conf/pjsip.conf): where outbound calls arrive.
TRUNK_PORT = 5070


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


async def ari_delete(path: str) -> int:
    url, headers = ari_settings()
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=3)) as s:
        async with s.delete(f"{url}/ari{path}") as r:
            return r.status


async def ari_post(path: str, params: dict[str, str]) -> int:
    url, headers = ari_settings()
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=3)) as s:
        async with s.post(f"{url}/ari{path}", params=params) as r:
            return r.status


class AriEventWatcher:
    """Every event of every channel, seen by an ARI app of the test's own (subscribeAll), beside
    the app under test: what Asterisk did (PlaybackStarted/Finished...), not what the app says it asked."""

    def __init__(self, app: str = "pbxcrm-test-watcher"):
        self.app = app
        self.events: list[dict] = []
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "AriEventWatcher":
        url, headers = ari_settings()
        self._session = aiohttp.ClientSession(headers=headers)
        self._ws = await self._session.ws_connect(url.replace("http", "ws", 1) + "/ari/events",
                                                  params={"app": self.app, "subscribeAll": "true"})
        self._task = asyncio.create_task(self._read(self._ws))
        return self

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))

    async def __aexit__(self, *exc) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def of_type(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == kind]


async def require_sandbox() -> None:
    """Telephony tests need the sandbox; without it they fail, never skip."""
    try:
        status, _ = await ari_get("/asterisk/info")
    except (aiohttp.ClientError, asyncio.TimeoutError) as e:
        pytest.fail(f"the Asterisk sandbox does not answer ({e}); `make test` brings it up")
    if status != 200:
        pytest.fail(f"the Asterisk sandbox answered {status} to /asterisk/info")


def sandbox_cel_database_url() -> str:
    """The database the sandbox's Asterisk writes its CEL into: cel_pgsql.conf as scripts/sandbox.sh
    installed it (PBXCRM_CEL_DATABASE_URL, or pbxcrm_asterisk on DATABASE_URL's server)."""
    return cel_database_url(SANDBOX_ROOT / "etc/asterisk/cel_pgsql.conf")


def cel_database_url(conf: Path) -> str:
    """The database an Asterisk writes its CEL into, from its cel_pgsql.conf (the sandbox's, a cluster node's)."""
    import re
    import urllib.parse

    values = dict(re.findall(r"^(\w+) *= *(.*?)\s*$", conf.read_text(), flags=re.M)) if conf.exists() else {}
    if not values.get("dbname"):
        pytest.fail(f"Asterisk writes no CEL to PostgreSQL ({conf}): `scripts/sandbox.sh up` (or cluster.sh up) "
                    "with DATABASE_URL set")
    user = urllib.parse.quote(values.get("user", ""), safe="")
    password = urllib.parse.quote(values.get("password", ""), safe="")
    login = f"{user}:{password}" if password else user
    return f"postgresql://{login}@{values['hostname']}:{values.get('port', '5432')}/{values['dbname']}"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StasisAppProcess(PbxcrmProcess):
    """`pbxcrm ari` as its own process, the way production runs it."""

    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(["ari"], env, log_path)

    async def start(self, timeout: float = 10.0) -> None:
        # Not GET /applications/{app}: Asterisk lists an app while channels sit in it,
        # connected or not. The app says when its event socket is up.
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited:
                pytest.fail(f"pbxcrm ari exited with {self.proc.returncode}:\n{self.log_text()}")
            if "registered as Stasis app" in self.log_text():
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"pbxcrm ari did not register in {timeout} s:\n{self.log_text()}")

    def kill(self) -> None:
        """Die the way a crash does: no goodbye to Asterisk."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class SippResult:
    returncode: int
    output: str


async def sipp_call(*, caller: str, called: str, caller_name: str = "", talk_ms: int = 1000,
                    scenario: str = "caller.xml", timeout: float = 30.0,
                    message_file: Path | None = None, keys: dict[str, str] | None = None) -> SippResult:
    """One call from the trunk side into the sandbox, with a real SIP dialog and RTP port;
    `scenario`: a file of tests/sipp/, or a path of its own (keys_scenario); `keys`: more -key NAME VALUE."""
    trace = ["-trace_msg", "-message_file", str(message_file)] if message_file else []
    trace += [arg for name, value in (keys or {}).items() for arg in ("-key", name, value)]
    args = ["sipp", "-sf", str(SIPP_DIR / scenario), *trace, "-key", "caller", caller,
            "-key", "caller_name", caller_name or caller, "-s", called,
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
            "-m", "1", "-d", str(talk_ms), "-nostdin", "-timeout", f"{int(timeout)}s",
            "-timeout_error", ASTERISK_SIP]
    error_file = Path(tempfile.mkstemp(prefix="sipp-errors-", suffix=".log")[1])
    args[1:1] = ["-trace_err", "-error_file", str(error_file)]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd="/tmp")
    out, _ = await asyncio.wait_for(proc.communicate(), timeout + 5)
    errors = error_file.read_text(errors="replace")[-3000:] if error_file.exists() else ""
    error_file.unlink(missing_ok=True)
    return SippResult(proc.returncode, out.decode(errors="replace")[-2000:] + "\nsipp errors:\n" + errors)


_DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_{}.pcap"
_PCAP_KEY_NAMES = {"*": "star", "#": "pound"}


def keys_scenario(presses: list[tuple[int, str]], work_dir: Path) -> Path:
    """tests/sipp/caller_keys.xml pressing these keys: (milliseconds to wait first, key) each.

    sipp's recorded events share one RTP stream but not its order (1's sequence numbers come
    before 2's, 0's after 9's), and Asterisk drops a packet older than the last it took: each
    press plays a copy renumbered to come after the one before."""
    template = (SIPP_DIR / "caller_keys.xml").read_text()
    head, _, rest = template.partition("<!-- KEYS -->")
    _, _, tail = rest.partition("<!-- /KEYS -->")
    keys = ""
    for n, (wait, key) in enumerate(presses):
        pcap = work_dir / f"dtmf-{n}-{_PCAP_KEY_NAMES.get(key, key)}.pcap"
        pcap.write_bytes(_renumbered(Path(_DTMF_PCAP.format(_PCAP_KEY_NAMES.get(key, key))).read_bytes(),
                                     seq=20000 + 100 * n, timestamp=100000 + 16000 * n))
        keys += (f'  <pause milliseconds="{wait}"/>\n'
                 f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n')
    path = work_dir / ("caller-keys-" + "".join(_PCAP_KEY_NAMES.get(k, k) for _, k in presses) + ".xml")
    path.write_text(head + keys + tail)
    return path


def _renumbered(pcap: bytes, *, seq: int, timestamp: int) -> bytes:
    """One telephone-event's packets (Ethernet, IPv4, UDP, RTP) with their RTP sequence numbers
    from `seq` on and `timestamp` as the event's, UDP checksums off."""
    out, offset, first = bytearray(pcap[:24]), 24, None
    while offset < len(pcap):
        length = struct.unpack("<I", pcap[offset + 8:offset + 12])[0]
        packet = bytearray(pcap[offset + 16:offset + 16 + length])
        old = struct.unpack(">H", packet[44:46])[0]
        first = old if first is None else first
        packet[40:42] = b"\0\0"
        packet[44:50] = struct.pack(">HI", (seq + old - first) & 0xFFFF, timestamp)
        out += pcap[offset:offset + 16] + packet
        offset += 16 + length
    return bytes(out)


async def sipp_calls_at_once(*, callers: list[str], called: str, scenario: str, work_dir: Path,
                             timeout: float = 60.0) -> SippResult:
    """All `callers` call at once from ONE sipp process (-m N -l N -r 1000: the INVITEs leave within
    milliseconds of each other, as real simultaneous callers' do; N sipp processes start too far
    apart). Each call's number is its line of an injection file (the scenario's [field0]).
    The sent and received messages are in work_dir/callers-messages.log."""
    work_dir.mkdir(parents=True, exist_ok=True)
    injection = work_dir / "callers.csv"
    injection.write_text("SEQUENTIAL\n" + "".join(f"{number};\n" for number in callers))
    error_file = work_dir / "callers-errors.log"
    n = str(len(callers))
    sip_port = free_udp_port()
    media_port = free_udp_port()
    while sip_port in (media_port, media_port + 2):  # sipp binds -mp and -mp+2 (video)
        media_port = free_udp_port()
    args = ["sipp", "-sf", str(SIPP_DIR / scenario), "-inf", str(injection), "-s", called,
            "-trace_err", "-error_file", str(error_file),
            "-trace_msg", "-message_file", str(work_dir / "callers-messages.log"),
            "-i", "127.0.0.1", "-p", str(sip_port), "-mp", str(media_port),
            "-m", n, "-l", n, "-r", "1000", "-rp", "1000", "-nostdin", "-timeout", f"{int(timeout)}s",
            "-timeout_error", ASTERISK_SIP]
    return await run_sipp(args, work_dir=work_dir, error_file=error_file, timeout=timeout)


async def run_sipp(args: list[str], *, work_dir: Path, error_file: Path, timeout: float) -> SippResult:
    """A sipp run of many calls in `work_dir`, killed `timeout` + 5 s on; its output and its -error_file's end."""
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=str(work_dir))
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout + 5)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    errors = error_file.read_text(errors="replace")[-3000:] if error_file.exists() else ""
    return SippResult(proc.returncode, out.decode(errors="replace")[-3000:] + "\nsipp errors:\n" + errors)


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll a predicate (plain or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval)


class SippPhone:
    """A manager's phone: a sipp UAS on the port the sandbox's pjsip.conf gives the extension
    (or, with port=TRUNK_PORT, the far end of the trunk: the outside world; with `address` and `port`,
    a cluster phone's: tests/cluster.py)."""

    def __init__(self, extension: str, scenario: str, log_dir: Path, *, port: int | None = None,
                 args: tuple[str, ...] = (), address: str = "127.0.0.1"):
        self.extension = extension
        self.address = address
        self.args = args  # more sipp options: -key NAME VALUE, -d for the scenario's <pause/>
        self.port = port or 5000 + int(extension)
        self.scenario = SIPP_DIR / scenario
        self.messages = log_dir / f"phone-{extension}-messages.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> "SippPhone":
        self.proc = await asyncio.create_subprocess_exec(
            "sipp", "-sf", str(self.scenario), "-i", self.address, "-p", str(self.port),
            "-mp", str(free_udp_port()), "-nostdin", "-trace_msg", "-message_file", str(self.messages), *self.args,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd="/tmp")
        await asyncio.sleep(0.3)
        if self.proc.returncode is not None:
            pytest.fail(f"sipp phone {self.extension} did not start (port {self.port} taken?)")
        return self

    async def __aexit__(self, *exc) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                # sipp in the middle of a call may ignore SIGTERM; its port must be free for the next test.
                self.proc.kill()
                await self.proc.wait()

    def invites(self) -> list[str]:
        """The From header of every new call (dialog-initial INVITE) this phone received.

        Re-INVITEs (connected-line updates, or retransmissions still aimed at an
        earlier test's dialog on this port) carry a To tag and are not counted.
        """
        if not self.messages.exists():
            return []
        text = self.messages.read_text(errors="replace")
        froms = []
        for block in text.split("\nINVITE sip:")[1:]:
            headers = {}
            for line in block.split("\n\n", 1)[0].splitlines()[1:]:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), value.strip())
            if "tag=" not in headers.get("to", ""):
                froms.append(headers.get("from", ""))
        return froms

    async def wait_for_invite(self, timeout: float = 10.0) -> list[str]:
        return await wait_for(self.invites, timeout)


def first_invite_time(message_file: Path, start: str = "INVITE sip:") -> float | None:
    """When the first INVITE (or message whose first line starts with `start`) in a sipp message trace
    was sent or received (epoch seconds)."""
    import datetime as dt
    import re

    if not message_file.exists():
        return None
    stamp = None
    for line in message_file.read_text(errors="replace").splitlines():
        m = re.match(r"^-+ (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)", line)
        if m:
            stamp = m.group(1)
        elif line.startswith(start) and stamp:
            return dt.datetime.strptime(" ".join(stamp.split()), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return None


async def astdb_get(key: str) -> str | None:
    """DB(pbxcrm/<key>) in the sandbox, where the app keeps the dialplan's settings; None: no entry."""
    proc = await asyncio.create_subprocess_exec(str(REPO / "scripts" / "sandbox.sh"), "cli",
                                                f"database get pbxcrm {key}", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    return text.split("Value: ", 1)[1] if text.startswith("Value: ") else None


async def astdb_becomes(key: str, value: str, timeout: float = 10.0) -> bool:
    """DB(pbxcrm/<key>) is `value` within `timeout` (an earlier test's value may be there first)."""
    async def equal() -> bool:
        return await astdb_get(key) == value
    return bool(await wait_for(equal, timeout))


async def astdb_put(key: str, value: str) -> None:
    """DB(pbxcrm/<key>) = value, written as the app writes it (ari_app/dialplan_store.py)."""
    from ari_app.client import AriClient
    from ari_app.dialplan_store import DialplanStore

    url, _ = ari_settings()
    async with AriClient(url, os.environ.get("PBXCRM_ARI_USER", "pbxcrm"),
                         os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"), "pbxcrm-test") as ari:
        await DialplanStore(ari).put(key, value)


async def restart_asterisk() -> None:
    """`core restart now` in the sandbox; back when ARI answers again."""
    proc = await asyncio.create_subprocess_exec(str(REPO / "scripts" / "sandbox.sh"), "cli", "core restart now",
                                                stdout=asyncio.subprocess.DEVNULL)
    await proc.wait()
    await asyncio.sleep(1)  # the old one answers until it is gone

    async def answers():
        try:
            status, _ = await ari_get("/asterisk/info")
        except Exception:
            return False
        return status == 200

    assert await wait_for(answers, timeout=30, interval=0.2), "the sandbox did not come back"
