"""Pulls the shop sources read from a URL (issue 24, K1: a CommerceML XML, a CSV, Excel or JSON list)
when due, in each web worker's background, as web/order_reloads.py does for issue 22's call lists: a
source is claimed by moving its next time (SKIP LOCKED), and a failing URL is recorded on its source."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.settings import Settings
from crm.shop_orders import loader
from web.background import BackgroundLoop

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30.0


class ShopPulls(BackgroundLoop):
    name = "shop order pulls"

    def __init__(self, settings: Settings, pool: Callable[[], asyncpg.Pool]):
        super().__init__()
        self.settings = settings
        self._pool = pool

    async def _run(self) -> None:
        while True:
            try:
                await loader.reload_due(self._pool(), self.settings.clock.now(), region=self.settings.default_region,
                                        timezone=self.settings.timezone)
            except DATABASE_ERRORS as e:
                log.warning("shop order pulls: database unavailable (%s)", type(e).__name__)
            except Exception:  # one bad source must not stop the loop for all
                log.exception("shop order pulls: a pull failed")
            await asyncio.sleep(INTERVAL_SECONDS)
