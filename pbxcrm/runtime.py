"""The composition root's shared half: what `pbxcrm ari` and `pbxcrm agi` both run on.

One place builds the database pool, the routing lookups' own connections (their
indexes read into PostgreSQL's cache as the process starts) and the CRM's routing
view (crm/routing/view.py), and one place turns SIGTERM/SIGINT into
a stop. The Stasis app adds its ARI objects on top of this (ari_app/wiring.py);
the FastAGI server serves the view as it is (agi/server.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from crm.db import create_pool
from crm.routing import queries as routing_q
from crm.routing.lookup_connections import LookupConnections
from crm.routing.view import CrmView
from crm.routing.warm_cache import warm_lookup
from crm.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    pool: asyncpg.Pool
    lookups: LookupConnections
    crm: CrmView


@asynccontextmanager
async def crm_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The pool, lookup connections and routing view, closed on the way out."""
    # min_size=0: the process starts, and takes calls, even while PostgreSQL is down.
    pool = await create_pool(settings.database_url, min_size=0, max_size=10, node=settings.node)
    lookups = LookupConnections(settings.database_url, routing_q.prepare_lookup)
    # The lookup's indexes read into PostgreSQL's cache, beside the start (crm/routing/warm_cache.py).
    warming = asyncio.create_task(warm_lookup(pool), name="lookup cache warm-up")
    try:
        yield Runtime(settings, pool, lookups, CrmView(pool, settings.lookup_budget_ms, lookups=lookups))
    finally:
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)
        await lookups.close()
        try:
            # A connection stuck on a database that stopped answering is not waited for.
            await asyncio.wait_for(pool.close(), 3)
        except asyncio.TimeoutError:
            pool.terminate()


def stop_on_signals(exit_after: float | None = None) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: the process's one way to be told to stop.

    With `exit_after`, a stop that has not ended the process that many seconds after the
    signal ends it anyway (a database or peer that never answers must not keep it alive)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def signalled() -> None:
        if exit_after is not None and not stop.is_set():
            timer = threading.Timer(exit_after, _exit_now, (exit_after,))
            timer.daemon = True
            timer.start()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, signalled)
    return stop


def _exit_now(seconds: float) -> None:
    log.error("not stopped %.0f s after the signal; exiting now", seconds)
    logging.shutdown()
    os._exit(1)
