"""Waiting on a call's events."""

from __future__ import annotations

import asyncio


async def first_of(*aws) -> None:
    """Wait until the first of these is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
