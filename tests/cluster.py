"""The cluster in tests (README.md, "More than one PBX"): Kamailio in front of the Asterisk nodes of
cluster/nodes, brought up by scripts/cluster.sh for the session (tests/conftest.py's `cluster`).

Addresses: the proxy 127.0.1.1:5060; node NAME on the address cluster/nodes gives it (PJSIP :5060, ARI
:8088); a phone homed on node a answers on 127.0.1.21, one of node b on 127.0.1.22, ... (PHONE_ADDRESS),
on the port of its extension (7101 at 127.0.1.21:7101), and registers with its node first."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from ari_app.client import basic_auth
from tests.processes import REPO
from tests.telephony import (
    SANDBOX_ROOT,
    SIPP_DIR,
    SippPhone,
    SippResult,
    cel_database_url,
    free_udp_port,
    run_sipp,
)

CLUSTER_SH = REPO / "scripts" / "cluster.sh"
PROXY = "127.0.1.1:5060"
# The number every node answers itself, waits a second on and hangs up (asterisk-conf/extensions.conf).
ANSWERING_NUMBER = "79960000000"


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    extensions: tuple[str, ...]
    phone_address: str  # where the sipp phones homed on it answer

    @property
    def ari_url(self) -> str:
        return f"http://{self.address}:8088"

    @property
    def sip(self) -> str:
        return f"{self.address}:5060"


def read_nodes() -> dict[str, Node]:
    """cluster/nodes; the n-th node's phones on 127.0.1.(20 + n)."""
    nodes: dict[str, Node] = {}
    for line in (REPO / "cluster" / "nodes").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            nodes[fields[0]] = Node(fields[0], fields[1], tuple(fields[2:]), f"127.0.1.{21 + len(nodes)}")
    return nodes


def run_cluster_sh(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLUSTER_SH), *args], capture_output=True, text=True, timeout=timeout,
                          env=env or dict(os.environ))


class Cluster:
    """The running cluster: its nodes, the database their CEL goes to, one node stopped and started."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.nodes = read_nodes()
        self.cel_database_url = cel_database_url(SANDBOX_ROOT / f"etc/asterisk-node-{next(iter(self.nodes))}"
                                                 / "cel_pgsql.conf")

    def home(self, extension: str) -> Node:
        return next(node for node in self.nodes.values() if extension in node.extensions)

    async def cluster_sh(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(str(CLUSTER_SH), *args, env=self.env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, f"cluster.sh {' '.join(args)}: {text}"
        return text

    async def proxy_turn(self) -> dict[str, str]:
        """The proxy's flags for each node by name (A active, I inactive, T trying; P probing)."""
        by_address = {node.sip: name for name, node in self.nodes.items()}
        turn = {}
        for line in (await self.cluster_sh("proxy-turn")).splitlines():
            address, flags = line.split()
            turn[by_address.get(address, address)] = flags
        return turn

    async def calls_by_node(self, callers: list[str]) -> dict[str, str]:
        """Which node took the call of each caller number (the CEL's uniqueid prefix: its systemname)."""
        conn = await asyncpg.connect(self.cel_database_url)
        try:
            rows = await conn.fetch("""SELECT cid_num, uniqueid FROM cel
                                       WHERE eventtype = 'CHAN_START' AND cid_num = ANY($1::text[]) ORDER BY id""", callers)
        finally:
            await conn.close()
        return {r["cid_num"]: r["uniqueid"].rsplit("-", 1)[0] for r in rows}

    async def ari(self, node: str, method: str, path: str, **params: str) -> tuple[int, object]:
        auth = basic_auth(os.environ.get("PBXCRM_ARI_USER", "pbxcrm"),
                          os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"))
        async with aiohttp.ClientSession(headers={"Authorization": auth},
                                         timeout=aiohttp.ClientTimeout(total=5)) as s:
            async with s.request(method, f"{self.nodes[node].ari_url}/ari{path}", params=params) as r:
                return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


def unique_callers(n: int) -> list[str]:
    """n caller numbers no earlier run used: the CEL's rows of this test's calls are theirs."""
    base = 79_000_000_000 + secrets.randbelow(900_000_000)
    return [str(base + i) for i in range(n)]


async def proxy_calls(callers: list[str], *, rate: float, work_dir: Path, timeout: float = 30.0,
                      called: str = ANSWERING_NUMBER, at_once: int | None = None) -> SippResult:
    """len(callers) calls from the outside world through the proxy to `called` (by default ANSWERING_NUMBER),
    from one sipp, `rate` a second, at most `at_once` at a time, each from its own caller number
    (tests/sipp/caller_via_proxy.xml's [field0]); sipp's statistics in work_dir/stat.csv."""
    work_dir.mkdir(parents=True, exist_ok=True)
    injection = work_dir / "callers.csv"
    injection.write_text("SEQUENTIAL\n" + "".join(f"{number};\n" for number in callers))
    error_file = work_dir / "callers-errors.log"
    args = ["sipp", "-sf", str(SIPP_DIR / "caller_via_proxy.xml"), "-inf", str(injection), "-s", called,
            "-trace_err", "-error_file", str(error_file), "-trace_stat", "-stf", str(work_dir / "stat.csv"),
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
            "-m", str(len(callers)), "-r", str(rate), "-rp", "1000", "-nostdin", "-timeout", f"{int(timeout)}s",
            *(["-l", str(at_once)] if at_once else []), "-timeout_error", PROXY]
    return await run_sipp(args, work_dir=work_dir, error_file=error_file, timeout=timeout)


class ClusterPhone(SippPhone):
    """A phone homed on a node: a sipp UAS (`scenario`) on its address and the extension's port, registered
    with its node (tests/sipp/phone_register.xml) before the test uses it."""

    def __init__(self, cluster: Cluster, extension: str, scenario: str, log_dir: Path, *, args: tuple[str, ...] = ()):
        self.node = cluster.home(extension)
        super().__init__(extension, scenario, log_dir, port=int(extension), address=self.node.phone_address, args=args)

    async def __aenter__(self) -> "ClusterPhone":
        await super().__aenter__()
        result = await register(self.extension, self.node.phone_address, self.port, self.node.sip)
        if result.returncode != 0:
            await self.__aexit__(None, None, None)
            pytest.fail(f"phone {self.extension} could not register with node {self.node.name}: {result.output}")
        return self


async def register(extension: str, address: str, port: int, registrar: str) -> SippResult:
    """One REGISTER of `extension` with contact address:port, sent to `registrar` (host:port)."""
    error_file = Path(tempfile.mkstemp(prefix="sipp-register-", suffix=".log")[1])
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "phone_register.xml"), "-key", "extension", extension,
        "-key", "contact", f"{address}:{port}", "-i", address, "-p", str(free_udp_port()), "-m", "1",
        "-nostdin", "-timeout", "5s", "-timeout_error", "-trace_err", "-error_file", str(error_file), registrar,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd="/tmp")
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    errors = error_file.read_text(errors="replace")[-2000:]
    error_file.unlink(missing_ok=True)
    return SippResult(proc.returncode, out.decode(errors="replace")[-1500:] + "\nsipp errors:\n" + errors)


def cluster_session(server_url: str):
    """scripts/cluster.sh up for the session, down at its end (unless it was up before: then left up).
    The nodes' CEL goes where the sandbox's does: PBXCRM_CEL_DATABASE_URL, or pbxcrm_asterisk on the tests'
    PostgreSQL server (scripts/sandbox.sh configure_cel)."""
    env = dict(os.environ, DATABASE_URL=server_url)
    was_up = run_cluster_sh("status", env=env).returncode == 0
    up = run_cluster_sh("up", env=env, timeout=300)
    if up.returncode != 0:
        pytest.fail(f"scripts/cluster.sh up failed:\n{up.stdout}{up.stderr}")
    try:
        yield Cluster(env)
    finally:
        if not was_up:
            down = run_cluster_sh("down", env=env)
            assert down.returncode == 0, down.stdout + down.stderr
