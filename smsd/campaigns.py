"""The campaign runner inside the SMS process (issue 21, I2): a runner step (crm.sms.campaigns.runner)
every second, or at once when a campaign is approved, resumed or moves on (NOTIFY crm.sms.campaigns
CHANNEL) and while a step still finds full batches to queue. Several SMS processes may run it together:
a recipient is queued once (SKIP LOCKED in one transaction)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.listen import listen_forever
from crm.settings import Settings
from crm.sms.campaigns import runner
from crm.sms.campaigns.queries import CHANNEL

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
BATCH = 200


async def run_forever(pool: asyncpg.Pool, settings: Settings, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    listener = asyncio.create_task(listen_forever(settings.database_url, CHANNEL, lambda _payload: wake.set()))
    try:
        while not stop.is_set():
            wake.clear()
            result = runner.StepResult()
            try:
                result = await runner.step(pool, batch=BATCH)
            except DATABASE_ERRORS as e:
                log.warning("sms campaign step failed (%s: %s); trying again", type(e).__name__, e)
            if result.queued >= BATCH:
                continue  # more is waiting: no pause between full batches
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_first(wake, stop), INTERVAL_SECONDS)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
