"""Wires the Stasis app together and runs it until it is stopped."""

from __future__ import annotations

import asyncio
import logging
import signal

from ari_app.call_log import CallLogWriter
from ari_app.calls import CallService
from ari_app.client import CONNECTED, AriClient
from ari_app.dispatcher import ChannelEventDispatcher
from crm.db import create_pool
from crm.settings import Settings

log = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    # min_size=0: the app starts, and takes calls, even while PostgreSQL is down.
    pool = await create_pool(settings.database_url, min_size=0, max_size=10)
    try:
        async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password,
                             settings.ari_app) as ari:
            call_log = CallLogWriter(pool)
            calls = CallService(ari, call_log, settings.default_region)
            dispatcher = ChannelEventDispatcher({
                "StasisStart": calls.on_stasis_start,
                "ChannelDestroyed": calls.on_channel_destroyed,
            })
            consume = asyncio.create_task(_consume(ari, dispatcher))
            await stop.wait()
            consume.cancel()
            await asyncio.gather(consume, return_exceptions=True)
            await dispatcher.close()
            await call_log.drain(timeout=5)
    finally:
        await pool.close()
    log.info("stopped")


async def _consume(ari: AriClient, dispatcher: ChannelEventDispatcher) -> None:
    async for event in ari.events():
        if event.get("type") == CONNECTED:
            log.info("registered as Stasis app %r", ari.app)
            continue
        dispatcher.dispatch(event)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
