"""FastAGI lookup server, for PBXes that route in their own dialplan.

    AGI(agi://127.0.0.1:4573/lookup)

sets CRM_NAME, CRM_COUNTERPARTY_ID, CRM_MANAGER_EXT, CRM_TARGET ("manager" or
"queue:NAME"), CRM_MANAGER_DIAL (where the manager's phone is rung: PJSIP/102, or the
user's own dial string) and CALLERID(name), within the same lookup budget as the Stasis
app, and answers sensibly to a channel that hangs up or a request that is not AGI.
"""

from __future__ import annotations

import asyncio
import logging

from crm.phones import caller_match_key
from crm.routing.decide import decide
from crm.routing.view import CrmView

log = logging.getLogger(__name__)

ENV_TIMEOUT = 2.0
MAX_ENV_LINES = 200


class AgiProtocolError(Exception):
    pass


def quote(value: str) -> str:
    """An AGI argument: double-quoted, with quotes and backslashes escaped, on one line."""
    clean = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{clean}"'


async def read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    env: dict[str, str] = {}
    for _ in range(MAX_ENV_LINES):
        line = (await asyncio.wait_for(reader.readline(), ENV_TIMEOUT)).decode(errors="replace")
        if not line:
            raise AgiProtocolError("connection closed before the AGI environment ended")
        line = line.rstrip("\r\n")
        if line == "":
            if not env:
                raise AgiProtocolError("empty AGI environment")
            return env
        key, sep, value = line.partition(":")
        if not sep or not key.startswith("agi_"):
            raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
        env[key] = value.strip()
    raise AgiProtocolError("AGI environment too long")


class AgiSession:
    """One FastAGI request: a command, its answer, and so on, until done or hung up."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.hung_up = False

    async def command(self, text: str) -> bool:
        """Send one command; False once the channel is gone (no point in sending more)."""
        if self.hung_up:
            return False
        self.writer.write(text.encode() + b"\n")
        await self.writer.drain()
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), ENV_TIMEOUT)).decode(errors="replace").strip()
            if not line:
                self.hung_up = True
                return False
            if line == "HANGUP":
                # Asterisk tells of the hangup, then still answers the command (511).
                self.hung_up = True
                continue
            if line.startswith("511"):
                self.hung_up = True
                return False
            return line.startswith("200")


class AgiServer:
    def __init__(self, crm: CrmView, region: str):
        self.crm = crm
        self.region = region

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await read_env(reader)
            script = env.get("agi_network_script", "")
            if script != "lookup":
                log.warning("AGI from %s asked for %r; only 'lookup' is served", peer, script)
                await AgiSession(reader, writer).command(f'VERBOSE {quote("pbxcrm: unknown AGI script " + script)} 1')
                return
            await self.lookup(env, AgiSession(reader, writer))
        except (AgiProtocolError, asyncio.TimeoutError, ConnectionError) as e:
            log.warning("AGI from %s dropped: %s", peer, e)
        finally:
            writer.close()

    async def lookup(self, env: dict[str, str], agi: AgiSession) -> None:
        number = env.get("agi_callerid", "")
        channel = env.get("agi_channel", "?")
        facts, failure = await self.crm.lookup(caller_match_key(number, self.region))
        chain = decide(facts, self.crm.policy(), unknown_reason=failure or "unknown caller")
        first = chain[0]
        manager = first.manager if first.kind == "manager" else None
        target = "manager" if manager is not None else f"queue:{first.queue.name if first.queue else ''}"
        variables = {
            "CRM_NAME": facts.display_name if facts else "",
            "CRM_COUNTERPARTY_ID": str(facts.counterparty_id) if facts else "",
            "CRM_MANAGER_EXT": (manager.extension or "") if manager is not None else "",
            "CRM_TARGET": target,
            "CRM_MANAGER_DIAL": self.crm.dial_of(manager.extension) if manager and manager.extension else "",
        }
        if facts:
            variables["CALLERID(name)"] = facts.display_name
        for name, value in variables.items():
            if not await agi.command(f"SET VARIABLE {quote(name)} {quote(value)}"):
                break
        log.info("AGI lookup on %s: %s -> %s (%s)%s", channel, number, target, first.reason,
                 " [channel hung up]" if agi.hung_up else "")


async def serve(crm: CrmView, region: str, host: str, port: int, stop: asyncio.Event) -> None:
    server = await asyncio.start_server(AgiServer(crm, region).handle, host, port)
    log.info("FastAGI lookup listening on %s:%d", host, port)
    refresher = asyncio.create_task(crm.keep_fresh())
    async with server:
        await stop.wait()
    refresher.cancel()
