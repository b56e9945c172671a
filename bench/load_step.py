"""One step of a load ramp (bench/saturation.py): sipp places calls from the trunk at a rate, at most so
many at once, each talking so long; how the calls went by sipp's statistics, and what the step cost each
process in CPU (/proc: user + system time, a process's reaped children included)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

SIPP = Path(__file__).resolve().parent.parent / "tests" / "sipp"
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class Load:
    """`calls` calls at `rate` a second, at most `limit` at once, each talking `talk_ms`; `at_once`: a step
    of calls that all talk at the same time (else of a rate)."""

    calls: int
    rate: float
    limit: int
    talk_ms: int
    at_once: bool = False


@dataclass
class StepResult:
    load: Load
    wall: float  # seconds sipp ran
    created: int = 0
    ok: int = 0
    failed: int = 0  # sipp's failed calls, plus calls it never finished
    kinds: dict[str, int] = field(default_factory=dict)  # sipp's failure counters, and the app's own checks
    peak_calls: int = 0  # most calls in progress at once, by sipp's statistics each second
    median_calls: float = 0.0  # the median of those: calls piling up (not a moment's spike) raise it
    cpu_ms: dict[str, float] = field(default_factory=dict)  # by part, over the step
    busy_ms: float = 0.0  # the whole machine's CPU over the step (all processes, anyone's)
    seconds: float = 0.0  # the interval cpu_ms covers

    @property
    def failure_ratio(self) -> float:
        return self.failed / max(1, self.created)

    def share(self, part: str) -> float:
        """Percent of one core `part` used over the step."""
        return 100 * self.cpu_ms.get(part, 0.0) / max(1.0, self.seconds * 1000)

    @property
    def machine_share(self) -> float:
        """Percent of all the machine's cores busy over the step."""
        return 100 * self.busy_ms / max(1.0, self.seconds * 1000 * CORES)


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user+system ticks of the process and its reaped children), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), sum(int(v) for v in rest[11:15])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _all_processes() -> dict[int, tuple[int, int]]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (s := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = s
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _tcp() -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of every TCP socket."""
    rows = []
    for name in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            f = line.split()
            rows.append((int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[9]))
    return rows


def _backends_of(pids: list[int], database: str) -> list[int]:
    """The PostgreSQL server processes of `database` serving these processes' connections (the other
    helpers' and benches' connections to the same database are not counted)."""
    mine = set().union(*(_socket_inodes(p) for p in pids)) if pids else set()
    tcp = _tcp()
    ports = {local for local, _, inode in tcp if inode in mine}
    theirs = {inode for _, remote, inode in tcp if remote in ports}
    backend = re.compile(rf"postgres: (\S+: )?postgres {re.escape(database)} ")  # "15/main: " on Debian
    return [int(e.name) for e in os.scandir("/proc") if e.name.isdigit() and backend.match(_cmdline(int(e.name)))
            and _socket_inodes(int(e.name)) & theirs]


def _machine_busy_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def snapshot(roots: dict[str, int], database: str) -> dict:
    """Ticks per pid of each part: a root pid with all its descendants (the app's converter and its
    ffmpeg), and 'postgres': the server processes of `database` (the app's connections)."""
    procs = _all_processes()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    parts: dict[str, dict[int, int]] = {}
    for name, root in roots.items():
        tree, todo = {}, [root]
        while todo:
            pid = todo.pop()
            if pid in procs:
                tree[pid] = procs[pid][1]
                todo += kids.get(pid, [])
        parts[name] = tree
    parts["postgres"] = {pid: procs[pid][1] for pid in _backends_of(list(parts.get("app", {})), database)
                         if pid in procs}
    return {"t": time.monotonic(), "parts": parts, "busy": _machine_busy_ticks(),
            "children": resource.getrusage(resource.RUSAGE_CHILDREN)}


def cpu_between(before: dict, after: dict) -> tuple[dict[str, float], float, float]:
    """(CPU ms by part, the machine's busy CPU ms, seconds) from one snapshot to another; 'sipp' is the
    caller sipp, reaped in between (our children's rusage)."""
    used = {}
    for name, now in after["parts"].items():
        then = before["parts"].get(name, {})
        used[name] = sum(ticks - then.get(pid, 0) for pid, ticks in now.items()) * TICK_MS
    b, a = before["children"], after["children"]
    used["sipp"] = (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime) * 1000
    return used, (after["busy"] - before["busy"]) * TICK_MS, after["t"] - before["t"]


def uas(port: int, work: Path) -> subprocess.Popen:
    """The agents' phones: one sipp answering every call sent to it after 0.3 s of ringing."""
    return subprocess.Popen(["sipp", "-sf", str(SIPP / "phone_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
                             "-mp", str(port + 20000), "-l", "100000", "-nostdin"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def route_clients(conn: asyncpg.Connection, remainder: int, extensions: list[str], count: int) -> None:
    """`count` clients with a phone, no company and no tag (id % 100 = remainder, spread over the whole table),
    routed straight to the managers of `extensions` in turn: no queue between the caller and the manager."""
    await conn.execute(
        """WITH picked AS (
               SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM counterparties c
               WHERE c.kind = 'client' AND c.deleted_at IS NULL AND c.id % 100 = $1
                 AND NOT EXISTS (SELECT 1 FROM company_members m WHERE m.client_id = c.id)
                 AND NOT EXISTS (SELECT 1 FROM counterparty_tags t WHERE t.counterparty_id = c.id)
                 AND EXISTS (SELECT 1 FROM contacts k WHERE k.counterparty_id = c.id AND k.kind = 'phone'
                             AND k.deleted_at IS NULL)
               ORDER BY c.id LIMIT $3)
           UPDATE counterparties c SET queue_id = NULL, responsible_user_id =
               (SELECT id FROM users WHERE extension = ($2::text[])[1 + (p.n - 1) % cardinality($2::text[])]
                AND deleted_at IS NULL)
           FROM picked p WHERE c.id = p.id""", remainder, extensions, count)


def caller_files(rows: list[tuple[str, str]], work: Path, port: int) -> tuple[Path, Path]:
    """tests/sipp/caller.xml with its caller and dialled number taken from an injection file, and that
    file: row i is call i's (caller number, dialled number)."""
    scenario = work / f"caller-{port}.xml"
    scenario.write_text((SIPP / "caller.xml").read_text().replace("[caller]", "[field0]")
                        .replace("[service]", "[field1]"))
    injection = work / f"calls-{port}.csv"
    injection.write_text("SEQUENTIAL\n" + "".join(f"{caller};{called};\n" for caller, called in rows))
    return scenario, injection


def run_calls(rows: list[tuple[str, str]], load: Load, work: Path, port: int, roots: dict[str, int],
              database: str) -> tuple[StepResult, dict]:
    """Place the calls (row i: call i's caller number and dialled number, reused in a loop); the result,
    and the snapshot taken when sipp finished (to count CPU spent after it, e.g. conversions)."""
    scenario, injection = caller_files(rows, work, port)
    stats = work / f"stats-{port}.csv"
    stats.unlink(missing_ok=True)
    planned = load.calls / load.rate + load.talk_ms / 1000
    before = snapshot(roots, database)
    started = time.monotonic()
    caller = subprocess.Popen(["sipp", "-sf", str(scenario), "-inf", str(injection), "-key", "caller_name", "bench",
                    "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 20000), "-m", str(load.calls),
                    "-l", str(load.limit), "-r", str(load.rate), "-rp", "1000", "-d", str(load.talk_ms),
                    "-recv_timeout", "30000", "-nostdin", "-timeout", f"{int(planned * 1.5 + 60)}s",
                    "-trace_stat", "-fd", "1", "-stf", str(stats), "127.0.0.1:5060"],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        caller.wait()
    finally:  # interrupted: no sipp left calling
        if caller.poll() is None:
            caller.terminate()
            caller.wait(10)
    result = StepResult(load=load, wall=time.monotonic() - started)
    ended = snapshot(roots, database)
    result.cpu_ms, result.busy_ms, result.seconds = cpu_between(before, ended)
    lines = stats.read_text().splitlines() if stats.exists() else []
    if len(lines) < 2:
        result.failed = result.created = load.calls
        result.kinds["no sipp statistics"] = load.calls
        return result, ended
    header = lines[0].split(";")
    rows_ = [dict(zip(header, line.split(";"))) for line in lines[1:]]
    last = rows_[-1]
    result.created = int(last["TotalCallCreated"])
    result.ok = int(last["SuccessfulCall(C)"])
    result.failed = max(int(last["FailedCall(C)"]), load.calls - result.ok)
    result.created = max(result.created, load.calls)
    in_progress = sorted(int(r["CurrentCall"]) for r in rows_)
    result.peak_calls, result.median_calls = in_progress[-1], in_progress[len(in_progress) // 2]
    result.kinds = {k.removeprefix("Failed").removesuffix("(C)"): int(v) for k, v in last.items()
                    if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and v.isdigit()
                    and int(v)}
    if load.calls - result.ok - int(last["FailedCall(C)"]) > 0:
        result.kinds["unfinished"] = load.calls - result.ok - int(last["FailedCall(C)"])
    if int(last.get("Retransmissions(C)", "0") or 0):
        result.kinds["retransmissions (not failures)"] = int(last["Retransmissions(C)"])
    return result, ended
