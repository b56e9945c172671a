"""`make bench`, saturation (issue 25): sipp's load is raised until calls fail, the same steps both ways:
(a) plain Dial from the dialplan (79980000<ext>: the agent's phone, nothing else), (b) through the Stasis
app (`pbxcrm ari`): the caller looked up among 1M clients, rung to the client's responsible manager with
the client's name as Caller ID, the conversation recorded (recording policy "all") and logged.

Two figures each way: the most calls a second, and the most calls at once (long talks), that hold for
`HOLD` seconds (2 minutes; PBXCRM_BENCH_QUICK: 20 s) with under 0.1% failed calls. The ramp: steps of
`PROBE` seconds up a doubling ladder to the first that fails, one bisection between the last that held
and it, then the highest that held is run again for `HOLD` (if it fails then, the next lower one is).
A step fails when sipp counts >= 0.1% failed or unfinished calls, or (b) when the app's call log lacks
a call, logs one twice, or lacks its answer by a bench agent or its stored recording.

The manager of each caller is one of `AGENTS` bench users (extensions 6000...), each its own phone
(PJSIP/<ext>@201: one sipp answers them all, after 0.3 s of ringing), so no call finds its manager busy
with another. CPU per part (bench/load_step.py) says what limited each way at the step that failed."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from ari_app.client import basic_auth
from bench.load_step import CORES, Load, StepResult, cpu_between, route_clients, run_calls, snapshot, uas

QUICK = os.environ.get("PBXCRM_BENCH_QUICK") == "1"
PROBE = 10 if QUICK else 20
HOLD = 20 if QUICK else 120
RATES = (10, 20, 40, 80, 160, 320, 640)
AT_ONCE = (100, 200, 400, 800)
AGENTS = 1000
AGENT_EXT = 6000
# asterisk-conf/pjsip_bench.conf: endpoint 201's contact is the sipp on port 5200, which answers for all
# 16 agents of plain Dial, and (PJSIP/<ext>@201 rings sip:<ext>@127.0.0.1:5200) for the bench agents.
UAS_PORT = 5200
PHONE_ENDPOINT = "201"
REMAINDER = 37  # the clients whose manager is a saturation agent: id % 100 = 37 (others use 7 and 11)
CALLED = "74957654321"
RATE_TALK_MS = 1000
RING_SECONDS = 0.3  # tests/sipp/phone_answer.xml
SETUP_SECONDS = 0.2  # INVITE to ringing and BYE to 200, allowed per call before it counts as piling up
FAILED_AT_MOST = 0.001
WAYS = ("plain", "app")


@dataclass
class Figure:
    """One figure of one way: the value that held `HOLD` seconds (0: none), its run, the step that failed."""

    value: int
    held: StepResult | None
    failing: StepResult | None
    steps: list[tuple[int, bool]]

    @property
    def best_step(self) -> int:
        """The highest value any step held, a short one included."""
        return max((v for v, ok in self.steps if ok), default=0)


async def prepare(conn: asyncpg.Connection) -> tuple[list[tuple[str, str]], str | None]:
    """The bench agents and their 1,000 callers; recording policy "all". (caller, agent's extension)
    rows, and the recording policy as it was (to restore)."""
    await conn.execute("UPDATE users SET deleted_at = NULL WHERE login LIKE 'sat-agent-%'")
    have = await conn.fetchval("SELECT count(*) FROM users WHERE login LIKE 'sat-agent-%'")
    if have < AGENTS:
        await conn.execute(
            """INSERT INTO users (login, full_name, password_hash, role, extension, dial)
               SELECT 'sat-agent-' || e, 'Agent ' || e, (SELECT password_hash FROM users WHERE login = 'bench'),
                      'manager', e::text, 'PJSIP/' || e || '@' || $3
               FROM generate_series($1::int, $2::int) e
               WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.login = 'sat-agent-' || e)""",
            AGENT_EXT, AGENT_EXT + AGENTS - 1, PHONE_ENDPOINT)
    extensions = [str(AGENT_EXT + i) for i in range(AGENTS)]
    await route_clients(conn, REMAINDER, extensions, AGENTS)  # one client to each agent
    rows = await conn.fetch(
        """SELECT DISTINCT ON (c.id) k.normalized, u.extension FROM counterparties c
           JOIN users u ON u.id = c.responsible_user_id AND u.login LIKE 'sat-agent-%'
           JOIN contacts k ON k.counterparty_id = c.id AND k.kind = 'phone' AND k.deleted_at IS NULL
           WHERE c.kind = 'client' AND c.deleted_at IS NULL ORDER BY c.id, k.id""")
    policy = await conn.fetchval("SELECT value::text FROM app_settings WHERE key = 'recording.policy'")
    await set_policy(conn, json.dumps({"mode": "all", "excluded": []}))
    return [(r["normalized"].lstrip("+"), r["extension"]) for r in rows], policy


async def set_policy(conn: asyncpg.Connection, value: str | None) -> None:
    if value is None:
        await conn.execute("DELETE FROM app_settings WHERE key = 'recording.policy'")
    else:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('recording.policy', $1::jsonb)
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""", value)


async def app_log_check(conn: asyncpg.Connection, since, result: StepResult, wait: float) -> dict[str, int]:
    """The app's call log for the step's calls, once its writes and recordings have landed (up to `wait` s):
    problems by kind (empty: every call logged once, answered by its agent, recorded)."""
    deadline = time.monotonic() + wait
    while True:
        row = await conn.fetchrow(
            """SELECT count(*) AS logged, count(DISTINCT c.channel_id) AS distinct_ids,
                      count(*) FILTER (WHERE c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL
                                       AND u.login LIKE 'sat-agent-%') AS answered,
                      count(*) FILTER (WHERE EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id
                                                     AND r.error IS NULL)) AS recorded
               FROM calls c LEFT JOIN users u ON u.id = c.operator_user_id
               WHERE c.called_number = $1 AND c.started_at >= $2""", CALLED, since)
        done = row["logged"] >= result.created and row["recorded"] >= result.ok
        if done or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    problems = {"not in the call log": max(0, result.created - row["logged"]),
                "logged twice": row["logged"] - row["distinct_ids"],
                "sipp answered, log not answered by the agent": max(0, result.ok - row["answered"]),
                "no stored recording": max(0, result.ok - row["recorded"])}
    return {k: v for k, v in problems.items() if v}


class Ramp:
    """Both ways' steps on one set of processes: the app, the agents' sipp, Asterisk."""

    def __init__(self, url: str, work: Path, rows: list[tuple[str, str]], app_pid: int, asterisk_pid: int | None,
                 uas_pid: int):
        self.url, self.work, self.rows = url, work, rows
        self.roots = {"app": app_pid, "uas": uas_pid} | ({"asterisk": asterisk_pid} if asterisk_pid else {})
        self.database = url.rsplit("/", 1)[1]
        self.port = {"plain": 5094, "app": 5095}

    async def step(self, way: str, load: Load) -> StepResult:
        rows = ([(caller, f"79980000{216 - i % 16}") for i, (caller, _) in enumerate(self.rows)]
                if way == "plain" else [(caller, CALLED) for caller, _ in self.rows])
        conn = await asyncpg.connect(self.url)
        try:
            since = await conn.fetchval("SELECT now()")
            result, ended = await asyncio.to_thread(run_calls, rows, load, self.work, self.port[way], self.roots,
                                                    self.database)
            if way == "app":
                problems = await app_log_check(conn, since, result, 30)
                result.kinds |= problems
                result.failed = max(result.failed, sum(problems.values()))
                # CPU spent after the last call (the recordings' conversions) belongs to the step too.
                late, _, _ = cpu_between(ended, snapshot(self.roots, self.database))
                result.cpu_ms = {k: v + late.get(k, 0.0) if k in ("app", "postgres") else v
                                 for k, v in result.cpu_ms.items()}
        finally:
            await conn.close()
        if not load.at_once:  # a rate step: did the calls pile up (answered late, or hung up late)?
            expected = load.rate * (load.talk_ms / 1000 + RING_SECONDS + SETUP_SECONDS)
            if result.median_calls > 2 * expected:
                result.kinds[f"piled up: median {result.median_calls:.0f} at once, expected {expected:.0f}"] = \
                    result.created
                result.failed = result.created
        elif result.peak_calls < load.calls:
            result.kinds[f"never {load.calls} at once (at most {result.peak_calls})"] = result.created
            result.failed = result.created
        held = result.failure_ratio < FAILED_AT_MOST
        print(f"saturation: {way} {load}: {'held' if held else 'FAILED'} ok {result.ok}/{result.created} "
              f"at once: median {result.median_calls:.0f} peak {result.peak_calls}, wall {result.wall:.0f} s "
              f"{result.kinds} {profile(result)}", flush=True)
        await asyncio.sleep(3)  # let the last hang-ups settle before the next step
        # A failed step can leave calls in Asterisk whose caller is gone (sipp gave up without a BYE): they
        # would hold the agents' phones through the next steps and the next benchmark. Hung up, and said.
        left = await hang_up_leftovers()
        if left:
            result.kinds[f"{left} channels left in Asterisk after the step (hung up)"] = left
            print(f"saturation: {way}: {left} channels left in Asterisk after the step, hung up", flush=True)
        return result

    async def figure(self, way: str, ladder: tuple[int, ...], load_of: Callable[[int, int], Load]) -> Figure:
        """The ladder up to the first failure, one bisection, then the best held for HOLD seconds."""
        passed: list[int] = []
        failing: StepResult | None = None
        failed_at = None
        steps = []
        for value in ladder:
            r = await self.step(way, load_of(value, PROBE))
            steps.append((value, held(r)))
            if held(r):
                passed.append(value)
            else:
                failing, failed_at = r, value
                break
        if failed_at is not None:
            low = passed[-1] if passed else 0
            middle = (low + failed_at) // 2
            if low < middle < failed_at:
                r = await self.step(way, load_of(middle, PROBE))
                steps.append((middle, held(r)))
                if held(r):
                    passed.append(middle)
                else:
                    failing = r
        for value in sorted(passed, reverse=True)[:2]:
            r = await self.step(way, load_of(value, HOLD))
            steps.append((value, held(r)))
            if held(r):
                return Figure(value, r, failing, steps)
            failing = r
        return Figure(0, None, failing, steps)


def held(r: StepResult) -> bool:
    return r.failure_ratio < FAILED_AT_MOST


def rate_load(rate: int, seconds: int) -> Load:
    return Load(calls=rate * seconds, rate=rate, limit=max(50, rate * 15), talk_ms=RATE_TALK_MS)


def at_once_load(fill_rate: float) -> Callable[[int, int], Load]:
    """`n` calls started at `fill_rate` a second, each talking long enough that all `n` are up at once for
    the step's seconds."""
    def load(n: int, seconds: int) -> Load:
        fill = min(fill_rate, float(n))
        return Load(calls=n, rate=fill, limit=n, talk_ms=int((n / fill + seconds) * 1000), at_once=True)
    return load


def profile(r: StepResult | None) -> str:
    """What the step cost, per part, in percent of one core; the machine's busy share of all cores."""
    if r is None:
        return ""
    parts = ", ".join(f"{name} {r.share(name):.0f}%" for name in ("asterisk", "app", "postgres", "sipp", "uas")
                      if name in r.cpu_ms)
    return f"CPU (% of a core): {parts}; machine {r.machine_share:.0f}% of {CORES} cores"


def limiter(r: StepResult | None) -> str:
    """Which part most likely limited the step that failed."""
    if r is None:
        return "not reached (the ladder's top held)"
    for name, what in (("app", "the app's CPU (one event loop)"), ("sipp", "sipp placing calls"),
                       ("uas", "sipp answering"), ("asterisk", "Asterisk's CPU")):
        if r.share(name) >= 85:
            return what
    if r.machine_share >= 90:
        top = max(("asterisk", "app", "postgres", "sipp", "uas"), key=r.share)
        return f"the machine's CPU (all {CORES} cores busy; most: {top})"
    return "no CPU full: " + (", ".join(f"{k} {v}" for k, v in r.kinds.items()) or "slow calls")


async def hang_up_leftovers(seconds: float = 60) -> int:
    """Every channel still in the sandbox's Asterisk is hung up (ARI); how many there were."""
    ari = os.environ.get("PBXCRM_ARI_URL", "http://127.0.0.1:8088")
    auth = basic_auth(os.environ.get("PBXCRM_ARI_USER", "pbxcrm"),
                      os.environ.get("PBXCRM_ARI_PASSWORD", "pbxcrm-sandbox"))
    async with aiohttp.ClientSession(headers={"Authorization": auth}, timeout=aiohttp.ClientTimeout(total=10)) as s:
        async with s.get(f"{ari}/ari/channels") as r:
            first = [c["id"] for c in await r.json()]
        deadline = time.monotonic() + seconds
        channels = first
        while channels and time.monotonic() < deadline:
            for channel in channels:
                async with s.delete(f"{ari}/ari/channels/{channel}"):
                    pass
            await asyncio.sleep(1)
            async with s.get(f"{ari}/ari/channels") as r:
                channels = [c["id"] for c in await r.json()]
    return len(first)


async def bench_saturation(url: str, work: Path, app_factory, asterisk_pid: int | None) -> dict:
    conn = await asyncpg.connect(url)
    try:
        rows, policy = await prepare(conn)
    finally:
        await conn.close()
    phones = uas(UAS_PORT, work)
    app = app_factory(work / "ari-saturation.log")
    try:
        app.wait_for("registered as Stasis app")
        app.wait_for("dial strings of", timeout=180)  # the PBX's copy of them: Asterisk's work
        time.sleep(1)
        ramp = Ramp(url, work, rows, app.proc.pid, asterisk_pid, phones.pid)
        rates = {way: await ramp.figure(way, RATES, rate_load) for way in WAYS}
        fill = max(5.0, min(f.value or f.best_step for f in rates.values()) / 2)
        at_once = {way: await ramp.figure(way, AT_ONCE, at_once_load(fill)) for way in WAYS}
    finally:
        app.stop()
        await hang_up_leftovers()  # none left for the benchmarks after this one
        phones.terminate()
        phones.wait(10)
        conn = await asyncpg.connect(url)
        try:
            await set_policy(conn, policy)
            await conn.execute("UPDATE users SET deleted_at = now() WHERE login LIKE 'sat-agent-%'")
        finally:
            await conn.close()
    return {"rates": rates, "at_once": at_once, "fill": fill}


def asterisk_pid() -> int | None:
    """The sandbox's Asterisk (its CPU is reported for context), if it runs on this machine: by its pid
    file (scripts/sandbox.sh), not by name: the cluster's nodes are Asterisks too (scripts/cluster.sh)."""
    pidfile = Path(os.environ.get("PBXCRM_SANDBOX_ROOT", "/var/lib/pbxcrm/sandbox")) / "run/asterisk/asterisk.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _ratio(app: float, plain: float) -> str:
    return f"{app / plain:.2f}" if plain else "n/a"


def saturation_rows(r: dict) -> list[tuple]:
    rates, at_once = r["rates"], r["at_once"]
    held = rates["app"].held
    rows = [("Saturation: calls/s held %d s, < 0.1%% failed" % HOLD, f"app {rates['app'].value} calls/s",
             f"plain Dial {rates['plain'].value} calls/s", "app >= 0.9 x plain",
             _ratio(rates["app"].value, rates["plain"].value)),
            ("Saturation: calls at once held %d s, < 0.1%% failed" % HOLD, f"app {at_once['app'].value}",
             f"plain Dial {at_once['plain'].value}", "app >= 0.9 x plain",
             _ratio(at_once["app"].value, at_once["plain"].value))]
    if held is not None and held.ok:
        plain = rates["plain"].held
        per_call = {k: v / held.ok for k, v in held.cpu_ms.items()}
        asterisk_plain = (f" (plain Dial {plain.cpu_ms['asterisk'] / plain.ok:.1f})"
                          if plain is not None and plain.ok and "asterisk" in plain.cpu_ms else "")
        rows.append(("  app's CPU per call (its process and children)", f"{per_call.get('app', 0):.1f} ms",
                     f"PostgreSQL {per_call.get('postgres', 0):.1f} ms; Asterisk {per_call.get('asterisk', 0):.1f} "
                     f"ms{asterisk_plain}", "", f"{held.ok} calls at {rates['app'].value} calls/s"))
    for title, figures, unit in (("calls/s", rates, "calls/s"), ("at once", at_once, "at once")):
        for way in WAYS:
            f = figures[way]
            failing = f.failing
            at = (f"{failing.load.rate:g} calls/s" if unit == "calls/s" else f"{failing.load.calls} at once") \
                if failing else "-"
            rows.append((f"  {way}, {title}: what stops it", f"fails at {at}",
                         profile(failing) + (f"; failed {failing.failed}/{failing.created}" if failing else ""),
                         "", limiter(failing)))
        rows.append((f"  ramp, {title}", " / ".join(
            f"{w}: " + " ".join(f"{v}{'' if ok else '!'}" for v, ok in figures[w].steps) for w in WAYS),
            f"steps {PROBE} s, best held {HOLD} s" + (f", filled at {r['fill']:g} calls/s" if unit == "at once"
                                                      else f", talk {RATE_TALK_MS} ms"), "", "! = failed"))
    return rows
