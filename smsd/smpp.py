"""The SMPP 3.4 adapter (issue 21): one transceiver bind to the provider's SMSC per gateway row.

asyncio over our own PDU codec (smsd/smpp_pdu.py) rather than a library: smpplib is blocking and
thread-based, and aiosmpplib brings its own broker and retry queue where ours is sms_messages; the
PDUs a transceiver needs are six, and the tests check them against Net::SMPP's codec (tests/smsc.pl).

Kept alive by enquire_link; on loss it reconnects with backoff (doubling to `reconnect_max_seconds`).
At most `window` submits wait for their answer at once, and at most `rate` leave per second. A submit
whose answer never came (the connection dropped) may have reached the SMSC: it is Refused, never sent
again. Receipts and incoming messages go to the Inbox before the SMSC gets its deliver_sm_resp.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from typing import Any

from crm.settings import Settings
from crm.sms.gateway import Inbox, Incoming, Outgoing, Receipt, Refused, Retry, Submitted
from smsd import smpp_pdu as p

log = logging.getLogger(__name__)

PARTS_KEPT_SECONDS = 3600  # an incoming long message's parts wait this long for the rest
_DEFAULTS: dict[str, Any] = {"system_type": "", "window": 10, "rate": 50, "enquire_link_seconds": 30,
                             "response_seconds": 10, "reconnect_max_seconds": 30}


def read_config(config: dict[str, Any]) -> dict[str, Any]:
    """The gateway row's config with defaults; ValueError naming what is wrong for the admin."""
    for key in ("host", "port", "system_id", "password"):
        if config.get(key) in (None, ""):
            raise ValueError(f"SMPP gateway: {key} is required")
    merged = {**_DEFAULTS, **config}
    try:
        merged["port"] = int(merged["port"])
        for key in ("window", "rate", "enquire_link_seconds", "response_seconds", "reconnect_max_seconds"):
            merged[key] = float(merged[key]) if key != "window" else int(merged[key])
    except (TypeError, ValueError):
        raise ValueError("SMPP gateway: port, window, rate and the seconds must be numbers") from None
    if not 0 < merged["port"] < 65536 or merged["window"] < 1 or merged["rate"] <= 0:
        raise ValueError("SMPP gateway: port 1-65535, window and rate above 0")
    return merged


class _Lost(Exception):
    """The connection ended with this submit unanswered."""


class _BindRefused(Exception):
    """The SMSC answered the bind with an error status (wrong password, too many binds, ...)."""


class SmppGateway:
    def __init__(self, gateway_id: int, config: dict[str, Any], settings: Settings) -> None:
        self.gateway_id = gateway_id
        self.config = read_config(config)
        self.window: int = self.config["window"]  # the worker keeps at most this many messages in flight
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[p.Pdu]] = {}
        self._window = asyncio.Semaphore(self.config["window"])
        self._next_send = 0.0
        self._rate_lock = asyncio.Lock()
        self._bound = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        # Incoming parts waiting for the rest of their message: (first part's time, {seq: text}).
        self._parts: dict[tuple[str, int, int], tuple[float, dict[int, str]]] = {}
        self.last_error = "not connected yet"
        self._inbox: Inbox | None = None

    @property
    def ready(self) -> bool:
        """Bound: worth claiming messages for (the worker leaves them queued otherwise)."""
        return self._bound.is_set()

    def _where(self) -> str:
        return f"SMPP gateway {self.gateway_id} ({self.config['host']}:{self.config['port']})"

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._task = asyncio.create_task(self._keep_bound(), name=f"smpp-{self.gateway_id}")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._handlers):
            task.cancel()
        if self._writer is not None and self._bound.is_set():
            with contextlib.suppress(OSError):
                self._writer.write(p.Pdu(p.UNBIND, 0, next(self._seq)).encode())
                await asyncio.wait_for(self._writer.drain(), 1)
        self._drop("closed")

    # ---- the connection

    async def _keep_bound(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._session()
                delay = 1.0  # a session that bound and then ended: reconnect soon
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, p.PduError, _BindRefused) as e:
                self.last_error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                log.error("%s: %s; reconnecting in %.0f s", self._where(), self.last_error, delay)
            except Exception as e:  # a bug here must not end the gateway: logged, and connected again
                self.last_error = f"{type(e).__name__}: {e}"
                log.exception("%s: unexpected error; reconnecting in %.0f s", self._where(), delay)
            self._drop(self.last_error)
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))
            delay = min(delay * 2, self.config["reconnect_max_seconds"])

    async def _session(self) -> None:
        cfg = self.config
        reader, writer = await asyncio.wait_for(asyncio.open_connection(cfg["host"], cfg["port"]), 10)
        self._writer = writer
        seq = next(self._seq)
        writer.write(p.Pdu(p.BIND_TRANSCEIVER, 0, seq,
                           p.bind_transceiver(cfg["system_id"], cfg["password"], cfg["system_type"])).encode())
        resp = await asyncio.wait_for(self._read(reader), cfg["response_seconds"])
        if resp.command_id != p.BIND_TRANSCEIVER_RESP or resp.status != p.ESME_ROK:
            raise _BindRefused(f"bind refused: {p.status_name(resp.status)}")
        log.info("%s: bound as %s (SMSC %s)", self._where(), cfg["system_id"], p.parse_cstr(resp.body) or "?")
        self.last_error = ""
        self._bound.set()
        keepalive = asyncio.create_task(self._enquire(writer))
        try:
            while True:
                pdu = await self._read(reader)
                self._dispatch(pdu, writer)
        finally:
            keepalive.cancel()

    async def _read(self, reader: asyncio.StreamReader) -> p.Pdu:
        header = await reader.readexactly(p.HEADER.size)
        length, command_id, status, seq = p.HEADER.unpack(header)
        if not p.HEADER.size <= length <= p.MAX_PDU:
            raise p.PduError(f"PDU length {length}")
        return p.Pdu(command_id, status, seq, await reader.readexactly(length - p.HEADER.size))

    async def _enquire(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.config["enquire_link_seconds"])
            try:
                await self._request(p.Pdu(p.ENQUIRE_LINK, 0, next(self._seq)))
            except (_Lost, asyncio.TimeoutError, OSError):
                log.warning("%s: enquire_link unanswered; dropping the connection", self._where())
                writer.close()
                return

    def _dispatch(self, pdu: p.Pdu, writer: asyncio.StreamWriter) -> None:
        if pdu.command_id & 0x80000000:
            future = self._pending.pop(pdu.seq, None)
            if future is not None and not future.done():
                future.set_result(pdu)
        elif pdu.command_id == p.ENQUIRE_LINK:
            writer.write(p.Pdu(p.ENQUIRE_LINK_RESP, 0, pdu.seq).encode())
        elif pdu.command_id == p.DELIVER_SM:
            task = asyncio.create_task(self._deliver(pdu, writer))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        elif pdu.command_id == p.UNBIND:
            writer.write(p.Pdu(p.UNBIND_RESP, 0, pdu.seq).encode())
            log.warning("%s: the SMSC unbound", self._where())
            writer.close()
        else:
            writer.write(p.Pdu(p.GENERIC_NACK, p.ESME_RINVCMDID, pdu.seq).encode())

    def _drop(self, reason: str) -> None:
        self._bound.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(_Lost(reason))

    async def _request(self, pdu: p.Pdu) -> p.Pdu:
        if self._writer is None:
            raise _Lost("not connected")
        future: asyncio.Future[p.Pdu] = asyncio.get_running_loop().create_future()
        self._pending[pdu.seq] = future
        self._writer.write(pdu.encode())
        try:
            return await asyncio.wait_for(future, self.config["response_seconds"])
        finally:
            self._pending.pop(pdu.seq, None)

    # ---- what the SMSC sends

    async def _deliver(self, pdu: p.Pdu, writer: asyncio.StreamWriter) -> None:
        status = p.ESME_ROK
        assert self._inbox is not None
        try:
            deliver = p.parse_deliver(pdu.body)
            if deliver.is_receipt:
                provider_id, final, detail = p.parse_receipt(deliver)
                if provider_id and final:
                    await self._inbox.receipt(self.gateway_id, Receipt(provider_id, final, detail))
            else:
                await self._incoming(self._inbox, deliver)
        except p.PduError as e:
            log.warning("%s: unreadable deliver_sm %d: %s", self._where(), pdu.seq, e)
        except Exception:
            log.exception("%s: deliver_sm %d not stored; the SMSC will send it again", self._where(), pdu.seq)
            status = p.ESME_RX_T_APPDN
        if not writer.is_closing():
            writer.write(p.Pdu(p.DELIVER_SM_RESP, status, pdu.seq, b"\0").encode())

    async def _incoming(self, inbox: Inbox, deliver: p.Deliver) -> None:
        concat, octets = p.split_udh(deliver.esm_class, deliver.short_message)
        text = p.decode_text(deliver.data_coding, octets)
        if concat is not None and concat.total > 1:
            now = time.monotonic()
            for stale in [k for k, (at, _) in self._parts.items() if now - at > PARTS_KEPT_SECONDS]:
                log.warning("%s: incomplete incoming message from %s dropped", self._where(), stale[0])
                del self._parts[stale]
            key = (deliver.source, concat.reference, concat.total)
            parts = self._parts.setdefault(key, (now, {}))[1]
            parts[concat.seq] = text
            if len(parts) < concat.total:
                return
            del self._parts[key]
            text = "".join(parts[i] for i in sorted(parts))
        await inbox.incoming(self.gateway_id, Incoming(deliver.source, deliver.destination, text))

    # ---- sending

    async def _pace(self) -> None:
        async with self._rate_lock:
            now = time.monotonic()
            wait = self._next_send - now
            self._next_send = max(now, self._next_send) + 1 / self.config["rate"]
        if wait > 0:
            await asyncio.sleep(wait)

    async def _submit_part(self, message: Outgoing, data_coding: int, esm_class: int, short: bytes) -> p.Pdu:
        async with self._window:
            await self._pace()
            if not self._bound.is_set() or self._writer is None:
                raise Retry(f"not bound: {self.last_error}", after=5)
            body = p.submit_sm(message.sender, message.to, data_coding, esm_class, short)
            return await self._request(p.Pdu(p.SUBMIT_SM, 0, next(self._seq), body))

    async def submit(self, message: Outgoing) -> list[Submitted]:
        if not self._bound.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._bound.wait(), 2)
        data_coding, texts = p.text_parts(message.body)
        parts = p.with_udh(texts, message.message_id)
        done: list[Submitted] = []
        for seq, (esm_class, short) in enumerate(parts, start=1):
            for attempt in itertools.count():
                try:
                    resp = await self._submit_part(message, data_coding, esm_class, short)
                except (_Lost, asyncio.TimeoutError) as e:
                    raise Refused(f"the SMSC did not answer part {seq} ({e or 'timeout'}); it may have "
                                  "got it, so it is not sent again") from None
                except Retry:
                    if not done:
                        raise
                    raise Refused(f"connection lost after {len(done)} of {len(parts)} parts") from None
                if resp.status == p.ESME_ROK:
                    done.append(Submitted(seq, p.parse_cstr(resp.body) or None))
                    break
                error = f"SMSC answered {p.status_name(resp.status)} to part {seq}"
                if resp.status not in p.TRANSIENT:
                    raise Refused(error)
                if not done:
                    raise Retry(error, after=1.0 if resp.status == p.ESME_RTHROTTLED else 5.0)
                if attempt >= 5:  # later parts went: this one is tried here, not the whole text again
                    raise Refused(f"{error}; {len(done)} of {len(parts)} parts sent")
                await asyncio.sleep(0.5 * 2 ** attempt)
        log.debug("%s: message %d sent in %d part(s)", self._where(), message.message_id, len(done))
        return done
