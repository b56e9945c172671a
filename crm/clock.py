"""The CRM's clock: what "now" and "today" are for deadlines and overdue tasks.

PBXCRM_CLOCK_OFFSET_SECONDS shifts it, for demos and tests that need a task
to fall due without waiting days.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from crm.defaults import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class Clock:
    timezone: str = DEFAULT_TIMEZONE
    offset_seconds: int = 0

    def now(self) -> dt.datetime:
        real = dt.datetime.now(zoneinfo.ZoneInfo(self.timezone))
        return real + dt.timedelta(seconds=self.offset_seconds)

    def today(self) -> dt.date:
        return self.now().date()
