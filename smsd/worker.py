"""The sender (`pbxcrm sms`, issue 21): every active gateway's adapter, and the loop that hands it
what is queued.

Per gateway: claim due messages (crm.sms.queries.claim_due: SKIP LOCKED and a lease, so two workers
never take the same message), submit each in its own task, at most the gateway's window at once, and
record the answer: submitted with its parts' ids, queued again with backoff (smsd/retry.py), or failed.
Woken by NOTIFY crm.sms.QUEUE_CHANNEL and a one-second tick; what a dead worker held is recovered
(crm.sms.queries.recover_interrupted, never sent twice). The gateways' rows are read again every
`sms_reload_seconds`, and at the next tick after the admin pages change them (NOTIFY GATEWAYS_CHANNEL):
a changed, added or removed gateway is reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg

from crm.db import DATABASE_ERRORS
from crm.listen import listen_forever
from crm.settings import Settings
from crm.sms import QUEUE_CHANNEL
from crm.sms import queries as q
from crm.sms.gateway import Gateway, Incoming, Outgoing, Receipt, Refused, Retry
from crm.sms.gateway_admin import GATEWAYS_CHANNEL
from crm.sms.inbox import Inbox
from smsd import adapters, campaigns
from smsd.retry import Backoff, next_try

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_SECONDS = 1.0
RECOVER_SECONDS = 5.0  # at most; less with a shorter lease
RECEIPT_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)  # for the submit's record, before a receipt is dropped


class EarlyReceipts:
    """The Inbox the adapters get: a receipt for a part the worker has not recorded yet (the SMSC can
    answer the submit and send the receipt before our INSERT) waits for it, a few seconds at most."""

    def __init__(self, pool: asyncpg.Pool, inbox: Inbox) -> None:
        self.pool, self.inbox = pool, inbox

    async def receipt(self, gateway_id: int, receipt: Receipt) -> None:
        for wait in (0.0, *RECEIPT_WAITS):
            await asyncio.sleep(wait)
            async with self.pool.acquire() as conn:
                if await q.part_known(conn, gateway_id, receipt.provider_message_id):
                    break
        else:
            log.warning("sms receipt gateway %d id %s for no recorded part; dropped", gateway_id,
                        receipt.provider_message_id)
            return
        await self.inbox.receipt(gateway_id, receipt)

    async def incoming(self, gateway_id: int, message: Incoming) -> None:
        await self.inbox.incoming(gateway_id, message)


@dataclass
class _Running:
    adapter: Gateway
    fingerprint: tuple[str, str]
    window: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    loop: asyncio.Task[None] | None = None


class Sender:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, inbox: Inbox) -> None:
        self.settings, self.pool = settings, pool
        self.inbox = EarlyReceipts(pool, inbox)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.backoff = Backoff(settings.sms_retry_base_seconds, settings.sms_retry_max_seconds,
                               settings.sms_max_attempts)
        self.gateways: dict[int, _Running] = {}
        self.broken: dict[int, tuple[str, str]] = {}
        self.reload_due = False  # the admin changed the gateways: read them at the next tick

    async def run(self, stop: asyncio.Event) -> None:
        log.info("sms sender %s starting", self.name)
        listener = asyncio.create_task(listen_forever(self.settings.database_url, QUEUE_CHANNEL,
                                                      lambda _payload: self._wake_all()))
        changes = asyncio.create_task(listen_forever(self.settings.database_url, GATEWAYS_CHANNEL,
                                                     self._gateways_changed, on_connected=self._listening))
        try:
            since_reload = since_recover = float("inf")
            while not stop.is_set():
                if since_recover >= min(RECOVER_SECONDS, self.settings.sms_lease_seconds):
                    await self._recover()
                    since_recover = 0.0
                if since_reload >= self.settings.sms_reload_seconds or self.reload_due:
                    self.reload_due = False
                    await self._reload()
                    since_reload = 0.0
                self._wake_all()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK_SECONDS)
                since_recover += TICK_SECONDS
                since_reload += TICK_SECONDS
        finally:
            listener.cancel()
            changes.cancel()
            for gateway_id in list(self.gateways):
                await self._stop_gateway(gateway_id)
            log.info("sms sender %s stopped", self.name)

    def _gateways_changed(self, payload: str) -> None:
        log.info("sms gateways changed (%s); reloading", payload)
        self.reload_due = True

    async def _listening(self, _conn: asyncpg.Connection) -> None:
        log.info("sms sender %s listening for gateway changes", self.name)
        self.reload_due = True  # a change made while nobody listened

    def _wake_all(self) -> None:
        for running in self.gateways.values():
            running.wake.set()

    async def _fetch(self, what: str, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T | None:
        """A query's answer, or None (logged) while the database is unavailable: the loop tries again."""
        try:
            async with self.pool.acquire() as conn:
                return await query(conn)
        except DATABASE_ERRORS as e:
            log.warning("sms %s: database unavailable (%s)", what, type(e).__name__)
            return None

    async def _recover(self) -> None:
        count = await self._fetch("recover", q.recover_interrupted)
        if count:
            log.warning("sms: %d message(s) a stopped worker held recovered", count)

    async def _reload(self) -> None:
        rows = await self._fetch("gateways not read", q.active_gateways)
        if rows is None:
            return
        wanted = {r["id"]: (r["kind"], r["config"]) for r in rows}
        for gateway_id, running in list(self.gateways.items()):
            if wanted.get(gateway_id) != running.fingerprint:
                log.info("sms gateway %d changed or removed; reconnecting", gateway_id)
                await self._stop_gateway(gateway_id)
        for gateway_id, (kind, config_text) in wanted.items():
            if gateway_id in self.gateways or self.broken.get(gateway_id) == (kind, config_text):
                continue
            config = json.loads(config_text)
            try:
                adapter = adapters.build(kind, gateway_id, config, self.settings)
            except (ValueError, KeyError, ImportError) as e:
                log.error("sms gateway %d (%s) not started: %s", gateway_id, kind, e)
                self.broken[gateway_id] = (kind, config_text)  # said once, until the admin changes it
                continue
            self.broken.pop(gateway_id, None)
            running = _Running(adapter, (kind, config_text), max(1, int(getattr(adapter, "window", 10))))
            self.gateways[gateway_id] = running
            await adapter.start(self.inbox)
            running.loop = asyncio.create_task(self._gateway_loop(gateway_id, running),
                                               name=f"sms-gateway-{gateway_id}")
            log.info("sms gateway %d (%s) started", gateway_id, kind)

    async def _stop_gateway(self, gateway_id: int) -> None:
        running = self.gateways.pop(gateway_id)
        if running.loop:
            running.loop.cancel()
        # What is in flight gets a few seconds to be answered and recorded; the lease covers the rest.
        if running.in_flight:
            await asyncio.wait(running.in_flight, timeout=3)
        for task in running.in_flight:
            task.cancel()
        await running.adapter.close()

    async def _gateway_loop(self, gateway_id: int, running: _Running) -> None:
        while True:
            await running.wake.wait()
            running.wake.clear()
            while getattr(running.adapter, "ready", True):
                free = running.window - len(running.in_flight)
                if free <= 0:
                    break
                try:
                    async with self.pool.acquire() as conn:
                        rows = await q.claim_due(conn, self.name, gateway_id, free, self.settings.sms_lease_seconds)
                except DATABASE_ERRORS as e:
                    log.warning("sms gateway %d: claim failed (%s)", gateway_id, type(e).__name__)
                    break
                if not rows:
                    break
                for row in rows:
                    task = asyncio.create_task(self._send(gateway_id, running, row))
                    running.in_flight.add(task)
                    task.add_done_callback(running.in_flight.discard)
                    task.add_done_callback(lambda _t: running.wake.set())
                if len(rows) < free:
                    break

    async def _send(self, gateway_id: int, running: _Running, row: asyncpg.Record) -> None:
        message_id = row["id"]
        outgoing = Outgoing(message_id, row["phone"], row["own_number"], row["body"])
        # Recorded before the lease ends, or the recovery would take the message from under us.
        limit = self.settings.sms_lease_seconds * 0.8
        try:
            parts = await asyncio.wait_for(running.adapter.submit(outgoing), limit)
        except asyncio.TimeoutError:
            async with self.pool.acquire() as conn:
                await q.fail(conn, message_id, f"the gateway did not take it within {limit:.0f} s; not sent again")
            log.warning("sms %d to %s: gateway %d took over %.0f s; failed", message_id, row["phone"], gateway_id,
                        limit)
            return
        except Retry as e:
            after = next_try(row["attempts"], e.after, self.backoff)
            async with self.pool.acquire() as conn:
                if after is None:
                    await q.fail(conn, message_id, f"{e}; gave up after {row['attempts']} attempts")
                    log.warning("sms %d to %s failed after %d attempts: %s", message_id, row["phone"],
                                row["attempts"], e)
                else:
                    await q.retry_later(conn, message_id, str(e), after)
                    log.info("sms %d to %s: %s; again in %.0f s", message_id, row["phone"], e, after)
            return
        except Refused as e:
            async with self.pool.acquire() as conn:
                await q.fail(conn, message_id, str(e))
            log.warning("sms %d to %s refused: %s", message_id, row["phone"], e)
            return
        except Exception as e:  # an adapter's bug: the message may have gone, so it is not tried again
            log.exception("sms %d: gateway %d failed unexpectedly", message_id, gateway_id)
            async with self.pool.acquire() as conn:
                await q.fail(conn, message_id, f"gateway error: {type(e).__name__}")
            return
        async with self.pool.acquire() as conn:
            await q.record_submitted(conn, message_id, gateway_id, [(s.seq, s.provider_message_id) for s in parts])
        log.info("sms %d to %s submitted in %d part(s) through gateway %d", message_id, row["phone"], len(parts),
                 gateway_id)


async def run(settings: Settings, stop: asyncio.Event) -> None:
    from crm.db import create_pool

    pool = await create_pool(settings.database_url, min_size=0, max_size=10)
    try:
        # The campaigns' runner queues their recipients' messages; the sender sends whatever is queued.
        await asyncio.gather(Sender(settings, pool, Inbox(pool, settings.default_region)).run(stop),
                             campaigns.run_forever(pool, settings, stop))
    finally:
        try:
            await asyncio.wait_for(pool.close(), 3)
        except asyncio.TimeoutError:
            pool.terminate()
