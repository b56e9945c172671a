"""Retention's hourly run (issue 25, crm/retention/job.py) in every web worker, as the notifier runs there:
the one that gets the advisory lock does the work, the others find it held and wait for the next hour.
The first run waits a few minutes after start, so a restart does not begin with it."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.retention import job
from crm.retention import queries as q
from crm.settings import Settings
from web.background import BackgroundLoop

log = logging.getLogger(__name__)

FIRST_AFTER = 300.0
EVERY = 3600.0


class RetentionLoop(BackgroundLoop):
    name = "retention"

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    async def once(self) -> job.Report:
        conn = await asyncpg.connect(self.settings.database_url, timeout=10)
        try:
            policy = await q.load_policy(conn)
            return await job.run(conn, policy, self.settings.clock.now(),
                                 job.Where(self.settings.recordings_dir, self.settings.archive_dir))
        finally:
            await conn.close()

    async def _run(self) -> None:
        await asyncio.sleep(FIRST_AFTER)
        while True:
            try:
                report = await self.once()
                if report.problems:
                    log.warning("retention: %s", "; ".join(report.problems))
            except DATABASE_ERRORS as e:
                log.warning("retention: database unavailable (%s)", type(e).__name__)
            except Exception:  # a failing run must not stop the next ones
                log.exception("retention: the run failed")
            await asyncio.sleep(EVERY)
