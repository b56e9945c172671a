"""SQL for click-to-call requests, shared by the web (asks) and the Stasis app (dials)."""

from __future__ import annotations

import asyncpg

from crm import appsettings
from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.request_rows import RequestRows

CHANNEL = "pbxcrm_call_requests"
ROWS = RequestRows("call_requests", "ringing user")


async def request_call(conn: asyncpg.Connection, *, user: asyncpg.Record, number: str, requested_by: int,
                       region: str, order_id: int | None = None, dial_attempt_id: int | None = None,
                       shop_order_id: int | None = None) -> int:
    """Ask the PBX to ring `user`, then `number`. order_id: the call is made for that order (it links to
    it); dial_attempt_id: it is a preview campaign's attempt (issue 22); shop_order_id: made from a shop order
    (issue 24), the call links to it."""
    if not user["extension"]:
        raise ValidationError({"user": _("%(name)s has no extension to ring") % {"name": user["full_name"]}})
    try:
        dialable = normalize_phone(number, region)
    except InvalidPhone as e:
        raise ValidationError({"number": str(e)}) from None
    # The trunk takes numbers as dialled nationally (digits, no +); the user's phone would dial the
    # call centre's prefix first (an outside line), and the dial rules see the number so (crm/dialing/rules.py).
    dialable = await appsettings.dial_prefix(conn) + dialable.lstrip("+")
    async with conn.transaction():
        request_id = await conn.fetchval(
            """INSERT INTO call_requests (user_id, extension, number, requested_by, order_id, dial_attempt_id,
                                          shop_order_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            user["id"], user["extension"], dialable, requested_by, order_id, dial_attempt_id, shop_order_id)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(request_id))
    return request_id


async def claim(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    """Take a pending request (one app process only gets it)."""
    return await conn.fetchrow(f"{ROWS.take} RETURNING id, user_id, extension, number, order_id, dial_attempt_id, "
                               "shop_order_id",
                               request_id)


pending_ids = ROWS.pending_ids


async def set_status(conn: asyncpg.Connection, request_id: int, status: str, *, error: str | None = None,
                     channel_id: str | None = None) -> None:
    await conn.execute(
        """UPDATE call_requests SET status = $2, error = coalesce($3, error),
                  channel_id = coalesce($4, channel_id), updated_at = now() WHERE id = $1""",
        request_id, status, error, channel_id)


async def get(conn: asyncpg.Connection, request_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM call_requests WHERE id = $1", request_id)
