"""SMS through a GSM gateway that speaks SIP (issue 21): what the Stasis app and the sender share.

Asterisk hands the Stasis app a MESSAGE from the gateway's PJSIP endpoint as TextMessageReceived once
the app subscribed to `endpoint:PJSIP/<endpoint>` (ari_app/sms/); the gateway row is found by that
endpoint name. Sending is smsd/sip_message.py (ARI sendMessage).
"""

from __future__ import annotations

from urllib.parse import unquote

import asyncpg

TECHNOLOGY = "PJSIP"


def event_source(endpoint: str) -> str:
    """The ARI subscription that brings the endpoint's MESSAGEs to the app."""
    return f"endpoint:{TECHNOLOGY}/{endpoint}"


def message_to(endpoint: str, number: str) -> str:
    """sendMessage's `to`: the number as the user part of the endpoint's contact (Asterisk 22 takes
    the dial-string form pjsip:PJSIP/<user>@<endpoint>; the gateway's address stays in its AOR)."""
    return f"pjsip:{TECHNOLOGY}/{number}@{endpoint}"


def uri_user(uri: str) -> str:
    """The user part of a SIP URI as Asterisk prints it: '"Name" <sip:+7916...@host:port>;tag=..',
    'pjsip:7495...@host' -> '+7916...', '7495...' ('' when there is none)."""
    text = uri.strip()
    if "<" in text:
        text = text.split("<", 1)[1].split(">", 1)[0]
    scheme, _, rest = text.partition(":")
    if not rest or scheme.lower() not in ("sip", "sips", "pjsip", "tel"):
        return ""
    user, at, _host = rest.partition("@")
    if not at and scheme.lower() != "tel":
        return ""
    return unquote(user.split(";", 1)[0])


async def endpoints(conn: asyncpg.Connection) -> list[str]:
    """The PJSIP endpoints of the active SIP gateways: the ones the Stasis app subscribes to."""
    rows = await conn.fetch("SELECT DISTINCT config->>'endpoint' AS endpoint FROM sms_gateways "
                            "WHERE kind = 'sip' AND active AND coalesce(config->>'endpoint', '') <> '' ORDER BY 1")
    return [r["endpoint"] for r in rows]


async def gateway_of(conn: asyncpg.Connection, endpoint: str) -> asyncpg.Record | None:
    """The SIP gateway of this endpoint (an active one first): its id and our number (config 'from')."""
    return await conn.fetchrow(
        "SELECT id, coalesce(config->>'from', '') AS own_number FROM sms_gateways "
        "WHERE kind = 'sip' AND config->>'endpoint' = $1 ORDER BY active DESC, id LIMIT 1", endpoint)
