"""Reloads the orders' call lists from their URLs when due (issue 22, H9), in each web worker's
background: an order is claimed by moving its next time (SKIP LOCKED), so workers never take the same one,
and one failing URL is recorded on its order and holds up nothing else."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from crm.orders import loader
from crm.settings import Settings
from web.background import Repeating


class OrderReloads(Repeating):
    name = "order reloads"

    def __init__(self, settings: Settings, pool: Callable[[], asyncpg.Pool]):
        super().__init__(lambda: loader.reload_due(pool(), settings.clock.now(), settings.default_region))
