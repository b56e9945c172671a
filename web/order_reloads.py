"""Reloads the orders' call lists from their URLs when due (issue 22, H9), in each web worker's
background: an order is claimed by moving its next time (SKIP LOCKED), so workers never take the same one,
and one failing URL is recorded on its order and holds up nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.orders import loader
from crm.settings import Settings
from web.background import BackgroundLoop

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0


class OrderReloads(BackgroundLoop):
    name = "order reloads"

    def __init__(self, settings: Settings, pool: Callable[[], asyncpg.Pool]):
        super().__init__()
        self.settings = settings
        self._pool = pool

    async def _run(self) -> None:
        while True:
            try:
                await loader.reload_due(self._pool(), self.settings.clock.now(), self.settings.default_region)
            except DATABASE_ERRORS as e:
                log.warning("order reloads: database unavailable (%s)", type(e).__name__)
            except Exception:  # one bad order must not stop the loop for all
                log.exception("order reloads: a reload failed")
            await asyncio.sleep(INTERVAL_SECONDS)
