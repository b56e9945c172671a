"""Incoming SMS from a GSM gateway speaking SIP MESSAGE (issue 21).

Asterisk 22 gives the app a MESSAGE only from an endpoint the app subscribed to (res_stasis
messaging: `POST /applications/{app}/subscription?eventSource=endpoint:PJSIP/<endpoint>`); the
subscription is made again after every (re)connect and every minute for gateways added meanwhile.
The event is parsed here and handed to crm.sms.inbox like any gateway's incoming message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg

from ari_app.client import AriClient, AriError
from crm.db import DATABASE_UNAVAILABLE
from crm.phones import InvalidPhone, normalize_phone
from crm.sms import sip
from crm.sms.gateway import Incoming
from crm.sms.inbox import Inbox

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 60.0
UNSUBSCRIBE_TRIES = 20  # Asterisk counts subscriptions: one made per (re)connect of older processes
# An incoming text waits this long for a database that does not answer (0.5 s doubling to 30 s: ~10 min).
STORE_TRIES, STORE_BACKOFF_MAX_SECONDS = 25, 30.0


@dataclass(frozen=True)
class TextMessage:
    endpoint: str  # the PJSIP endpoint it came from (the gateway)
    sender: str
    recipient: str
    body: str


def parse(event: dict) -> TextMessage | None:
    """A TextMessageReceived event as the gateway's message; None when it is not one from a PJSIP
    endpoint with a sender number and a text."""
    endpoint = event.get("endpoint") or {}
    message = event.get("message") or {}
    if str(endpoint.get("technology", "")).upper() != sip.TECHNOLOGY or not endpoint.get("resource"):
        return None
    sender = sip.uri_user(str(message.get("from", "")))
    body = str(message.get("body") or "")
    if not sender or not body.strip():
        return None
    return TextMessage(endpoint["resource"], sender, sip.uri_user(str(message.get("to", ""))), body)


def dropped_body_bytes(event: dict) -> int:
    """The Content-Length of a MESSAGE whose body did not come through (0: it did, or there was none)."""
    message = event.get("message") or {}
    variables = message.get("variables")
    length = str(variables.get("Content-Length", "0")).strip() if isinstance(variables, dict) else "0"
    return int(length) if length.isdigit() and not message.get("body") else 0


def own_number(recipient: str, configured: str, region: str) -> str:
    """Our number the text was sent to: the MESSAGE's To user when it is a number, else the gateway's
    configured one (a gateway may address its SIM channel, not the number)."""
    try:
        return normalize_phone(recipient, region) if recipient else configured
    except InvalidPhone:
        return configured or recipient


class SmsHandlers:
    def __init__(self, ari: AriClient, pool: asyncpg.Pool, region: str) -> None:
        self.ari, self.pool, self.region = ari, pool, region
        self.inbox = Inbox(pool, region)
        self._subscribed: list[str] | None = None
        self.receiving = False  # this process subscribed (it is the active one)

    async def subscribe(self) -> None:
        """Every SIP gateway's endpoint sends its MESSAGEs to the app. Asterisk counts subscriptions
        (an endpoint is let go after as many unsubscribes), so only the missing ones are made."""
        async with self.pool.acquire() as conn:
            endpoints = await sip.endpoints(conn)
        # No SIP gateway (most sites): nothing to ask Asterisk about the app at every (re)connect.
        have = set((await self.ari.get_application()).get("endpoint_ids") or ()) if endpoints else set()
        for endpoint in endpoints:
            if f"{sip.TECHNOLOGY}/{endpoint}" in have:
                continue
            try:
                await self.ari.subscribe(sip.event_source(endpoint))
            except AriError as e:
                log.warning("sms: cannot subscribe to MESSAGEs of endpoint %s: %s", endpoint, e)
        self.receiving = True
        if endpoints != self._subscribed:
            log.info("sms: MESSAGEs of gateway endpoint(s) %s come to the app", ", ".join(endpoints) or "none")
            self._subscribed = endpoints

    async def stop_receiving(self) -> None:
        """At a stop of the active process: the gateways' endpoints let go, so Asterisk answers a MESSAGE
        404 (the gateway keeps it and tries again) instead of 202 to an app nobody listens to, which
        Asterisk keeps registered after its websocket closed and would drop the message for."""
        if not self.receiving:
            return
        self.receiving = False
        for endpoint in self._subscribed or ():
            for _ in range(UNSUBSCRIBE_TRIES):
                try:
                    await self.ari.unsubscribe(sip.event_source(endpoint))
                except AriError:
                    break  # not subscribed (any more)
        log.info("sms: gateway endpoint(s) %s let go", ", ".join(self._subscribed or ()) or "none")

    async def keep_subscribed(self) -> None:
        while True:
            await asyncio.sleep(RESUBSCRIBE_SECONDS)
            try:
                await self.subscribe()
            except Exception as e:  # a chore beside the calls: never a reason for the app to step down
                log.warning("sms: gateway endpoints not subscribed (%s: %s)", type(e).__name__, e)

    async def on_text_message(self, event: dict) -> None:
        message = parse(event)
        if message is None:
            size = dropped_body_bytes(event)
            if size:
                # Asterisk 22 (res_pjsip_messaging) passes on a body of at most 1 KB; a longer one arrives empty.
                log.error("sms from %s through %s: a text of %d bytes arrived empty (over Asterisk's 1 KB); lost",
                          (event.get("message") or {}).get("from"), (event.get("endpoint") or {}).get("resource"),
                          size)
            else:
                log.warning("sms: TextMessageReceived not understood: %.300s", event)
            return
        # Asterisk has answered the gateway 202 already: the text is ours to keep. A database that does not
        # answer is waited for (this event runs as its own task), not a reason to lose it.
        delay = 0.5
        for attempt in range(1, STORE_TRIES + 1):
            try:
                await self._store(message)
                return
            except DATABASE_UNAVAILABLE as e:
                log.warning("sms from %s through %s: database unavailable (%s), try %d of %d; again in %.0f s",
                            message.sender, message.endpoint, type(e).__name__, attempt, STORE_TRIES, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_BACKOFF_MAX_SECONDS)
        log.error("sms from %s through %s lost: the database did not answer for %d tries: %.200s",
                  message.sender, message.endpoint, STORE_TRIES, message.body)

    async def _store(self, message: TextMessage) -> None:
        async with self.pool.acquire() as conn:
            gateway = await sip.gateway_of(conn, message.endpoint)
        if gateway is None:
            log.warning("sms from %s through endpoint %s: no SIP gateway has that endpoint; kept without one",
                        message.sender, message.endpoint)
        recipient = own_number(message.recipient, gateway["own_number"] if gateway else "", self.region)
        await self.inbox.incoming(gateway["id"] if gateway else None,
                                  Incoming(sender=message.sender, recipient=recipient, body=message.body))
