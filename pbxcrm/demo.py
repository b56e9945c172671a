"""`pbxcrm demo-history`, `pbxcrm demo-calls`, `pbxcrm demo-call`: the living demo (issue 19, crm/demo/)."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import asyncpg

from crm.settings import Settings


def cmd_demo_history(args, settings: Settings) -> int:
    from crm.demo import history

    async def run():
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            return await history.seed(conn, settings.recordings_dir, timezone=settings.timezone,
                                      region=settings.default_region)
        finally:
            await conn.close()

    result = asyncio.run(run())
    if result.skipped:
        print(f"demo history: already there ({result.seconds:.1f} s)")
    else:
        print(f"demo history: {result.calls} calls, {result.recordings} recordings, {result.voicemails} voicemails, "
              f"{result.tasks} tasks and deals, {result.agent_events} agent events in {result.seconds:.1f} s")
    return 0


async def hang_up(settings: Settings, numbers: list[str]) -> int:
    """The sandbox's channels of these callers hung up through ARI (callers stopped mid-call sent no
    BYE); how many."""
    import aiohttp

    from ari_app.client import basic_auth

    headers = {"Authorization": basic_auth(settings.ari_user, settings.ari_password)}
    done = 0
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as s:
        async with s.get(f"{settings.ari_url}/ari/channels") as r:
            channels = await r.json() if r.status == 200 else []
        for ch in channels:
            if ch.get("caller", {}).get("number") in numbers:
                async with s.delete(f"{settings.ari_url}/ari/channels/{ch['id']}") as r:
                    done += r.status == 204
    return done


def cmd_demo_calls(args, settings: Settings) -> int:
    from crm.demo import stream

    async def run() -> tuple[int, int]:
        placed, cut = await stream.run(settings.database_url, Path(args.log_dir), every=args.every,
                                       duration=args.duration, browser_login=args.browser)
        return placed, await hang_up(settings, cut) if cut else 0

    placed, hung_up = asyncio.run(run())
    print(f"demo calls: {placed} placed, {hung_up} cut off and hung up, every phone stopped")
    return 0


def cmd_demo_call(args, settings: Settings) -> int:
    """One call from one of the manager's clients to the main line: the manager's phone rings."""
    from crm.demo import stream, texts

    async def run() -> int:
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            manager = await conn.fetchrow("SELECT id, full_name, extension FROM users WHERE login = $1 "
                                          "AND deleted_at IS NULL", args.login)
            if manager is None:
                print(f"demo call: no user {args.login}", file=sys.stderr)
                return 1
            clients = await stream.known_callers(conn, manager["id"])
        finally:
            await conn.close()
        if not clients:
            print(f"demo call: {args.login} has no clients with a phone number", file=sys.stderr)
            return 1
        number, name = random.choice(clients)
        caller = stream.Caller("8" + number[2:], name, texts.LINES[0][1], args.seconds * 1000)
        print(f"demo call: {name} ({number}) calls {texts.LINES[0][1]}: the phone of {manager['full_name']} "
              f"(extension {manager['extension']}) rings, in her browser if she has the browser phone")
        Path(args.log_dir).mkdir(parents=True, exist_ok=True)
        proc = await stream.call(caller, Path(args.log_dir))
        return await proc.wait()

    return asyncio.run(run())


def add_commands(sub) -> None:
    history = sub.add_parser("demo-history", help="seed weeks of demo call-centre history (once)")
    history.set_defaults(func=cmd_demo_history)
    calls = sub.add_parser("demo-calls", help="live demo calls into the sandbox, answered by simulated phones, "
                                              "until Ctrl-C")
    calls.add_argument("--every", type=float, default=20.0, help="seconds between calls, on average")
    calls.add_argument("--duration", type=float, help="stop after this many seconds")
    calls.add_argument("--log-dir", default="var/log/demo-sipp")
    calls.add_argument("--browser", metavar="LOGIN",
                       help="this manager takes her calls in the browser phone: no simulated desk phone for her")
    calls.set_defaults(func=cmd_demo_calls)
    one = sub.add_parser("demo-call", help="one demo call from a client of this manager")
    one.add_argument("--login", required=True)
    one.add_argument("--seconds", type=int, default=30, help="how long the caller talks")
    one.add_argument("--log-dir", default="var/log/demo-sipp")
    one.set_defaults(func=cmd_demo_call)
