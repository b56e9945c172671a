"""Pulls the shop sources read from a URL (issue 24, K1: a CommerceML XML, a CSV, Excel or JSON list)
when due, in each web worker's background, as web/order_reloads.py does for issue 22's call lists: a
source is claimed by moving its next time (SKIP LOCKED), and a failing URL is recorded on its source."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from crm.settings import Settings
from crm.shop_orders import loader
from web.background import Repeating


class ShopPulls(Repeating):
    name = "shop order pulls"

    def __init__(self, settings: Settings, pool: Callable[[], asyncpg.Pool]):
        super().__init__(lambda: loader.reload_due(pool(), settings.clock.now(), region=settings.default_region,
                                                   timezone=settings.timezone))
