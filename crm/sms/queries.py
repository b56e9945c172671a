"""SMS SQL (issue 21). Every status change goes through `_move`, which checks the transition
(crm.sms.model), writes the history row and NOTIFYs the web workers (crm.sms.CHANNEL)."""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm.sms import CHANNEL, QUEUE_CHANNEL, model


async def _move(conn: asyncpg.Connection, message_id: int, new: str, detail: str = "", **fields) -> bool:
    """Move a message to `new` if its transition allows it (False if not: a late or repeated event).
    `fields` are more sms_messages columns to set in the same statement (whitelisted by the callers)."""
    current = await conn.fetchval("SELECT status FROM sms_messages WHERE id = $1 FOR UPDATE", message_id)
    if current is None or not model.can_move(current, new):
        return False
    sets = "".join(f", {k} = ${i}" for i, k in enumerate(fields, start=4))
    error = detail if new in (model.FAILED, model.UNDELIVERED, model.EXPIRED) else ""
    await conn.execute(f"UPDATE sms_messages SET status = $2, status_at = now(), error = $3{sets} WHERE id = $1",
                       message_id, new, error, *fields.values())
    await conn.execute("INSERT INTO sms_status_history (message_id, status, detail) VALUES ($1, $2, $3)",
                       message_id, new, detail[:500])
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(message_id))
    return True


async def announce(conn: asyncpg.Connection, message_ids: list[int]) -> None:
    """Tell the open chats (web/sms_stream.py) that these messages changed: one NOTIFY per id, sent when the
    transaction commits (e.g. messages attached to a card: the card's chat shows them)."""
    await conn.execute("SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS id", CHANNEL, message_ids)


async def gateway_for(conn: asyncpg.Connection, own_number: str | None) -> asyncpg.Record | None:
    """The sending number and its gateway: the one asked for, else the default number."""
    sql = ("SELECT n.number, g.id AS gateway_id, g.kind FROM sms_numbers n JOIN sms_gateways g ON g.id = n.gateway_id "
           "WHERE g.active AND ")
    if own_number:
        return await conn.fetchrow(sql + "n.number = $1", own_number)
    return await conn.fetchrow(sql + "n.is_default")


async def queue_outgoing(conn: asyncpg.Connection, *, phone: str, body: str, counterparty_id: int | None,
                         user_id: int | None, own_number: str, gateway_id: int,
                         not_before: dt.datetime | None = None, campaign_id: int | None = None,
                         order_id: int | None = None) -> int:
    """Queue one message for the sender worker (the caller checked the number, text and opt-out);
    a campaign's message names its campaign (crm/sms/campaigns), an order's its order (crm/orders)."""
    parts = model.split(body)
    async with conn.transaction():
        message_id = await conn.fetchval(
            """INSERT INTO sms_messages (direction, phone, counterparty_id, own_number, body, encoding, parts,
                                         gateway_id, user_id, status, next_attempt_at, campaign_id, order_id)
               VALUES ('out', $1, $2, $3, $4, $5, $6, $7, $8, 'queued', coalesce($9, now()), $10, $11) RETURNING id""",
            phone, counterparty_id, own_number, body, parts.encoding, parts.parts, gateway_id, user_id, not_before,
            campaign_id, order_id)
        await conn.execute("INSERT INTO sms_status_history (message_id, status) VALUES ($1, 'queued')", message_id)
        await conn.execute("SELECT pg_notify($1, $2)", QUEUE_CHANNEL, str(message_id))
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(message_id))
    return message_id


# A campaign's message goes only while its campaign runs and its recipient's local hour is inside the
# campaign's window: a pause holds what was already queued, and a retry's backoff never sends at night.
_CAMPAIGN_MAY_SEND = """(m.campaign_id IS NULL OR EXISTS (
    SELECT 1 FROM sms_campaigns c JOIN sms_campaign_recipients r ON r.campaign_id = c.id AND r.message_id = m.id
    WHERE c.id = m.campaign_id AND c.status = 'running'
      AND extract(hour FROM coalesce($3::timestamptz, now()) AT TIME ZONE nullif(r.tz, '')) >= c.window_from
      AND extract(hour FROM coalesce($3::timestamptz, now()) AT TIME ZONE nullif(r.tz, '')) < c.window_to))"""


async def claim_due(conn: asyncpg.Connection, worker: str, gateway_id: int, limit: int,
                    lease_seconds: float, *, now: dt.datetime | None = None) -> list[asyncpg.Record]:
    """Take up to `limit` due messages of a gateway for this worker: submitting, held until the lease
    ends. SKIP LOCKED lets several workers share a gateway without taking the same message. `now`, for
    tests: the moment campaign windows are judged at (the database's clock otherwise)."""
    async with conn.transaction():
        rows = await conn.fetch(
            f"""SELECT m.id FROM sms_messages m
                WHERE m.status = 'queued' AND m.gateway_id = $1 AND m.next_attempt_at <= now()
                  AND {_CAMPAIGN_MAY_SEND}
                ORDER BY m.next_attempt_at, m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED""", gateway_id, limit, now)
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        claimed = await conn.fetch(
            """UPDATE sms_messages SET status = 'submitting', status_at = now(), attempts = attempts + 1,
                      claimed_by = $2, claimed_until = now() + make_interval(secs => $3)
               WHERE id = ANY($1::bigint[])
               RETURNING id, phone, own_number, body, parts, attempts""", ids, worker, lease_seconds)
        await conn.execute("INSERT INTO sms_status_history (message_id, status, detail) "
                           "SELECT unnest($1::bigint[]), 'submitting', $2", ids, worker)
    return list(claimed)


async def record_submitted(conn: asyncpg.Connection, message_id: int, gateway_id: int,
                           parts: list[tuple[int, str | None]]) -> None:
    """Every part went: remember each part's provider id (receipts come by it)."""
    async with conn.transaction():
        await conn.executemany(
            """INSERT INTO sms_parts (message_id, seq, gateway_id, provider_message_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT (message_id, seq) DO UPDATE SET provider_message_id = excluded.provider_message_id""",
            [(message_id, seq, gateway_id, pid) for seq, pid in parts])
        await _move(conn, message_id, model.SUBMITTED, claimed_by=None, claimed_until=None)
        # Receipts that came before this answer was recorded (they wait in sms_parts' statuses).
        await _finish_from_parts(conn, message_id)


async def retry_later(conn: asyncpg.Connection, message_id: int, reason: str, after_seconds: float) -> None:
    async with conn.transaction():
        await _move(conn, message_id, model.QUEUED, reason, claimed_by=None, claimed_until=None,
                    next_attempt_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=after_seconds))


async def fail(conn: asyncpg.Connection, message_id: int, reason: str) -> bool:
    async with conn.transaction():
        return await _move(conn, message_id, model.FAILED, reason, claimed_by=None, claimed_until=None)


async def apply_receipt(conn: asyncpg.Connection, gateway_id: int, provider_message_id: str,
                        status: str, detail: str = "") -> int | None:
    """A delivery receipt for one part; the message id it finished, or None (unknown id, or not final yet)."""
    async with conn.transaction():
        # The message's row first: receipts for its other parts, applied at the same moment, wait here
        # and then see this part's status (without it each would find the others still outstanding
        # and none would finish the message).
        await conn.execute(
            """SELECT 1 FROM sms_messages WHERE id = (SELECT message_id FROM sms_parts
                                                      WHERE gateway_id = $1 AND provider_message_id = $2)
               FOR UPDATE""", gateway_id, provider_message_id)
        message_id = await conn.fetchval(
            """UPDATE sms_parts SET status = $3, status_at = now()
               WHERE gateway_id = $1 AND provider_message_id = $2 AND status = 'submitted'
               RETURNING message_id""", gateway_id, provider_message_id, status)
        if message_id is None:
            return None
        return message_id if await _finish_from_parts(conn, message_id, detail) else None


async def _finish_from_parts(conn: asyncpg.Connection, message_id: int, detail: str = "") -> bool:
    row = await conn.fetchrow(
        "SELECT m.parts, array_agg(p.status) AS statuses FROM sms_messages m "
        "JOIN sms_parts p ON p.message_id = m.id WHERE m.id = $1 GROUP BY m.parts", message_id)
    if row is None or len(row["statuses"]) < row["parts"]:
        return False
    final = model.combined_status(list(row["statuses"]))
    return final is not None and await _move(conn, message_id, final, detail)


async def recover_interrupted(conn: asyncpg.Connection) -> int:
    """Messages a worker held when it died (lease over). Parts it recorded went: they wait for receipts.
    One with no part recorded may or may not have reached the peer: it is failed, not sent again, so no
    client gets a text twice (the history says why)."""
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT m.id, EXISTS (SELECT 1 FROM sms_parts p WHERE p.message_id = m.id) AS some_sent
               FROM sms_messages m WHERE m.status = 'submitting' AND m.claimed_until < now()
               FOR UPDATE SKIP LOCKED""")
        for row in rows:
            if row["some_sent"]:
                await _move(conn, row["id"], model.SUBMITTED, "recovered after a worker stopped",
                            claimed_by=None, claimed_until=None)
            else:
                await _move(conn, row["id"], model.FAILED, "interrupted while submitting; not sent again",
                            claimed_by=None, claimed_until=None)
    return len(rows)


async def record_incoming(conn: asyncpg.Connection, *, phone: str, own_number: str, body: str,
                          gateway_id: int | None) -> asyncpg.Record:
    """Store an incoming message on the card its number belongs to (or none yet); returns id and card."""
    parts = model.split(body)
    async with conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO sms_messages (direction, phone, counterparty_id, own_number, body, encoding, parts,
                                         gateway_id, status)
               VALUES ('in', $1, (SELECT counterparty_id FROM contacts
                                  WHERE normalized = $1 AND deleted_at IS NULL LIMIT 1),
                       $2, $3, $4, $5, $6, 'received')
               RETURNING id, counterparty_id""", phone, own_number, body, parts.encoding, parts.parts, gateway_id)
        await conn.execute("INSERT INTO sms_status_history (message_id, status) VALUES ($1, 'received')", row["id"])
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(row["id"]))
    return row


async def for_counterparty(conn: asyncpg.Connection, counterparty_id: int, limit: int = 200) -> list[asyncpg.Record]:
    """The card's chat: its messages, oldest first (the last `limit`)."""
    return await conn.fetch(
        """SELECT * FROM (SELECT id, direction, phone, own_number, body, encoding, parts, status, status_at, error,
                                 read_at, user_id, created_at
                          FROM sms_messages WHERE counterparty_id = $1
                          ORDER BY created_at DESC, id DESC LIMIT $2) last ORDER BY created_at, id""",
        counterparty_id, limit)


async def history(conn: asyncpg.Connection, message_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT status, detail, at FROM sms_status_history WHERE message_id = $1 ORDER BY at, id",
                            message_id)


async def active_gateways(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The gateways the sender holds a connection to (`pbxcrm sms` reads them again when they change)."""
    return await conn.fetch("SELECT id, kind, config::text AS config FROM sms_gateways WHERE active ORDER BY id")


async def part_known(conn: asyncpg.Connection, gateway_id: int, provider_message_id: str) -> bool:
    """Whether a submit with this provider id is recorded: a receipt can come before the worker wrote it."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sms_parts WHERE gateway_id = $1 "
                               "AND provider_message_id = $2)", gateway_id, provider_message_id)
