"""An HTTP provider's signed webhooks (issue 21): delivery reports and incoming texts.

The provider POSTs a JSON object to /sms/webhooks/<gateway id> and signs it: the header
`X-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body with the gateway's webhook_secret.
The body carries its own `timestamp` (Unix seconds), so the signature covers it: a body older (or
newer) than REPLAY_SECONDS is refused, and a captured one cannot be replayed later with a new time.

    {"type": "delivery", "id": "<the id the submit answered>", "status": "delivered", "detail": "",
     "timestamp": 1764530000}
    {"type": "incoming", "from": "+79161234567", "to": "+74951230000", "text": "...", "timestamp": ...}

A delivery report's status is one of crm.sms.model's final ones (delivered, undelivered, expired,
failed). A provider that answered one id for a long message's parts reports the whole message by it:
the parts it gave no id of their own (smsd/http_provider.py) follow that report.
"""

from __future__ import annotations

import hashlib
import hmac

import asyncpg

from crm.sms.gateway import Receipt
from crm.sms.inbox import Inbox

SIGNATURE_HEADER = "X-Signature"
SCHEME = "sha256="
REPLAY_SECONDS = 300
DELIVERY, INCOMING = "delivery", "incoming"
REPORTED = ("delivered", "undelivered", "expired", "failed")


def signature(secret: str, body: bytes) -> str:
    """The header's value for this body (the provider's side; tests sign with it too)."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """The header is the body's signature with this secret (compared in constant time)."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def fresh(timestamp: int, now: float, window: float = REPLAY_SECONDS) -> bool:
    return abs(now - timestamp) <= window


async def webhook_secret(conn: asyncpg.Connection, gateway_id: int) -> str | None:
    """The secret of an HTTP gateway (switched off or not: reports of what it sent still come);
    None for no such gateway, another kind, or no secret."""
    if not 0 < gateway_id < 2**31:  # sms_gateways.id is an integer: no such gateway
        return None
    return await conn.fetchval("SELECT nullif(config->>'webhook_secret', '') FROM sms_gateways "
                               "WHERE id = $1 AND kind = 'http'", gateway_id)


async def delivery(pool: asyncpg.Pool, inbox: Inbox, gateway_id: int, receipt: Receipt) -> bool:
    """Apply a delivery report; False when no part of ours has that id (yet: a report can come before
    the sender recorded the submit's answer; the view answers 404 so the provider sends it again)."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            known = await conn.fetchval("SELECT message_id FROM sms_parts WHERE gateway_id = $1 "
                                        "AND provider_message_id = $2", gateway_id, receipt.provider_message_id)
            if known is None:
                return False
            # Parts without an id of their own belong to the message this id was answered for.
            await conn.execute("UPDATE sms_parts SET status = $2, status_at = now() WHERE message_id = $1 "
                               "AND provider_message_id IS NULL AND status = 'submitted'", known, receipt.status)
    await inbox.receipt(gateway_id, receipt)
    return True


async def first_time(conn: asyncpg.Connection, gateway_id: int, body: bytes) -> bool:
    """True the first time this gateway sends this very body (within a day): an incoming text's webhook
    replayed or resent is answered without storing the text again."""
    await conn.execute("DELETE FROM sms_webhook_bodies WHERE at < now() - interval '1 day'")
    return await conn.fetchval(
        "INSERT INTO sms_webhook_bodies (gateway_id, digest) VALUES ($1, sha256($2)) "
        "ON CONFLICT DO NOTHING RETURNING true", gateway_id, body) is not None


async def forget(conn: asyncpg.Connection, gateway_id: int, body: bytes) -> None:
    """The body was refused after all (not a phone number): its corrected resend is not a replay."""
    await conn.execute("DELETE FROM sms_webhook_bodies WHERE gateway_id = $1 AND digest = sha256($2)",
                       gateway_id, body)
