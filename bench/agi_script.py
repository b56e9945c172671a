#!/usr/bin/env python3
"""The conventional way: an AGI script Asterisk starts as a process for every call.

It reads the AGI environment on stdin, connects to PostgreSQL, runs the same
lookup as the FastAGI server and sets the same variables. `make bench`
starts it the way Asterisk would, to compare the cost per call.
"""

import asyncio
import os
import sys

import asyncpg

from crm.defaults import DEFAULT_REGION
from crm.phones import caller_match_key
from crm.routing.queries import lookup_caller


async def main() -> None:
    env = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            break
        key, _, value = line.partition(":")
        env[key] = value.strip()
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        facts = await lookup_caller(conn, caller_match_key(env.get("agi_callerid", ""), DEFAULT_REGION) or "")
    finally:
        await conn.close()
    for name, value in (("CRM_NAME", facts.display_name if facts else ""),
                        ("CRM_COUNTERPARTY_ID", str(facts.counterparty_id) if facts else ""),
                        ("CRM_MANAGER_EXT", facts.manager.extension if facts and facts.manager else "")):
        print(f'SET VARIABLE "{name}" "{value}"', flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    asyncio.run(main())
