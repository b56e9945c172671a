"""SQL for the call log."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from crm.calls.facts_sql import LEG_USERS as _LEG_USERS
from crm.calls.facts_sql import RULE_FACTS
from crm.calls.status import BUSY_CAUSE, FAILURE_CAUSES
from crm.counterparties.queries import number_owner_sql
from crm.customers_scope import ORDER_CUSTOMER_SQL
from crm.voicemails import queries as voicemails_q
from crm.wallboard import notify as wallboard_notify

# The client a call is with: the owner of the far end's number.
_OWNER_OF_CALL_NUMBER = number_owner_sql("CASE WHEN $2 = 'outgoing' THEN $7 ELSE $4 END")
# The open shop order (issue 24) whose buyer's number the call is from or to: the latest (an index on the
# open orders' numbers: crm/migrations/0049). Here, as the call's row is written, off the routing lookup.
_OPEN_SHOP_ORDER = """(SELECT o.id FROM shop_orders o
                       WHERE o.is_open AND o.phone_normalized = (CASE WHEN $2 = 'outgoing' THEN $7 ELSE $4 END)
                       ORDER BY o.created_at DESC, o.id DESC LIMIT 1)"""


async def insert_call(conn: asyncpg.Connection, *, channel_id: str, direction: str,
                      caller_number: str, caller_normalized: str | None, caller_name: str,
                      called_number: str, called_normalized: str | None, line: str,
                      started_at: dt.datetime, linked_id: str | None, counterparty_id: int | None = None,
                      caller_user_id: int | None = None, owner_user_id: int | None = None,
                      line_id: int | None = None) -> int:
    """The id of the call row for this channel; a replayed StasisStart reuses the row.

    Without a counterparty (the lookup did not answer in time) the row finds it
    itself by the caller's number when it is finally written. The call's owner -
    whose client it was when it happened, for listening rights - is the manager
    the lookup found, else the matched client's responsible manager; it is set
    here once and never by a later re-attachment. A call from or to an open shop
    order's number links to that order (issue 24).
    """
    return await conn.fetchval(
        """WITH matched AS (
               SELECT coalesce($11::bigint, """ + _OWNER_OF_CALL_NUMBER + """) AS id)
           INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, caller_name,
                              called_number, called_normalized, line, started_at, linked_id, counterparty_id,
                              caller_user_id, owner_user_id, line_id, shop_order_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, (SELECT id FROM matched), $12,
                   coalesce($13::bigint, (SELECT c.responsible_user_id FROM counterparties c
                                          WHERE c.id = (SELECT id FROM matched))), $14, """ + _OPEN_SHOP_ORDER + """)
           ON CONFLICT (channel_id) DO UPDATE SET
               counterparty_id = coalesce(calls.counterparty_id, EXCLUDED.counterparty_id),
               shop_order_id = coalesce(calls.shop_order_id, EXCLUDED.shop_order_id),
               owner_user_id = CASE WHEN calls.counterparty_id IS NULL THEN EXCLUDED.owner_user_id
                                    ELSE calls.owner_user_id END
           RETURNING id""",
        channel_id, direction, caller_number, caller_normalized, caller_name,
        called_number, called_normalized, line, started_at, linked_id, counterparty_id, caller_user_id,
        owner_user_id, line_id,
    )


async def append_route_step(conn: asyncpg.Connection, channel_id: str, step: dict) -> None:
    await conn.execute("UPDATE calls SET route = route || jsonb_build_array($2::jsonb) WHERE channel_id = $1",
                       channel_id, json.dumps(step))


async def mark_queued(conn: asyncpg.Connection, channel_id: str, queue_id: int,
                      queued_at: dt.datetime | None = None) -> None:
    """calls.queue_id: the queue the call waits in, until it is answered - then the queue that answered it.
    From `queued_at` (default: now) the caller waits there (the wallboard), until it leaves it."""
    await conn.execute("""UPDATE calls SET queue_id = $2, queued_at = coalesce($3, now()), queue_left_at = NULL
                          WHERE channel_id = $1 AND answered_at IS NULL""", channel_id, queue_id, queued_at)
    await wallboard_notify(conn, "queued", channel_id)


async def set_order(conn: asyncpg.Connection, channel_id: str, order_id: int) -> None:
    """The call was made for this order (issue 22): a click-to-call from the order's row."""
    await conn.execute("UPDATE calls SET order_id = $2 WHERE channel_id = $1", channel_id, order_id)


_LINKS = ("order_id", "shop_order_id")  # the columns a call links to what it was made for (issues 22, 24)


async def linked_calls(conn: asyncpg.Connection, link: str, link_id: int, visible: tuple[str, list],
                       limit: int = 50) -> list[asyncpg.Record]:
    """The calls made for an order (link "order_id") or a shop order ("shop_order_id") that the user may see:
    `visible` is the call rules' condition over calls c with its parameters from $1 (web/call_rules.visible)."""
    if link not in _LINKS:
        raise ValueError(f"calls do not link by {link!r}")
    where, args = visible
    n = len(args)
    return await conn.fetch(
        f"""SELECT c.id, c.started_at, c.direction, c.status, c.caller_number, c.called_number, c.talk_seconds,
                   u.full_name AS operator_name
            FROM calls c LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
            WHERE c.{link} = ${n + 1} AND ({where}) ORDER BY c.started_at DESC LIMIT ${n + 2}""",
        *args, link_id, limit)


async def set_shop_order(conn: asyncpg.Connection, channel_id: str, shop_order_id: int) -> None:
    """The call was made from this shop order (issue 24): a click-to-call from its page."""
    await conn.execute("UPDATE calls SET shop_order_id = $2 WHERE channel_id = $1", channel_id, shop_order_id)


async def mark_left_queue(conn: asyncpg.Connection, channel_id: str, left_at: dt.datetime) -> None:
    """Nobody in the queue took the call: it goes on elsewhere (another target, an offer), no longer waiting."""
    await conn.execute("UPDATE calls SET queue_left_at = coalesce(queue_left_at, $2) WHERE channel_id = $1",
                       channel_id, left_at)
    await wallboard_notify(conn, "left_queue", channel_id)


async def mark_ringing(conn: asyncpg.Connection, channel_id: str, user_ids: list[int],
                       at: dt.datetime) -> None:
    """The users whose phones ring for the call now (empty: the ringing stopped), for the wallboard."""
    await conn.execute("UPDATE calls SET ringing_user_ids = $2::bigint[], ringing_at = $3 WHERE channel_id = $1",
                       channel_id, user_ids, at)
    await wallboard_notify(conn, "ringing", channel_id)


async def mark_answered(conn: asyncpg.Connection, channel_id: str, answered_at: dt.datetime,
                        operator_user_id: int | None, queue_id: int | None) -> None:
    await conn.execute(
        """UPDATE calls SET answered_at = coalesce(answered_at, $2), status = 'answered', ringing_user_ids = '{}',
                  operator_user_id = coalesce(operator_user_id, $3), queue_id = coalesce(queue_id, $4)
           WHERE channel_id = $1""",
        channel_id, answered_at, operator_user_id, queue_id,
    )
    await wallboard_notify(conn, "answered", channel_id)


async def mark_ended(conn: asyncpg.Connection, channel_id: str, ended_at: dt.datetime,
                     hangup_cause: int | None) -> None:
    # A call that ends unanswered is missed unless the cause says busy or failure (crm/calls/status.py),
    # or the caller asked for a callback or left a voicemail (mark_caller_left, written before or after the end).
    await conn.execute(
        """UPDATE calls SET ended_at = coalesce(ended_at, $2), hangup_cause = $3, ringing_user_ids = '{}',
                  status = CASE
                      WHEN answered_at IS NOT NULL THEN 'answered'
                      WHEN status IN ('callback', 'voicemail') THEN status
                      WHEN $3::int = $4::int THEN 'busy'
                      WHEN $3::int = ANY($5::int[]) THEN 'failed'
                      ELSE 'missed' END
           WHERE channel_id = $1""",
        channel_id, ended_at, hangup_cause, BUSY_CAUSE, list(FAILURE_CAUSES),
    )
    await wallboard_notify(conn, "ended", channel_id)


async def mark_caller_left(conn: asyncpg.Connection, channel_id: str, status: str) -> None:
    """Nobody talked, but the caller asked to be called back ('callback') or left a voicemail."""
    await conn.execute("UPDATE calls SET status = $2 WHERE channel_id = $1 AND answered_at IS NULL",
                       channel_id, status)
    await wallboard_notify(conn, "left", channel_id)


async def calls_of_counterparty(conn: asyncpg.Connection, counterparty_id: int, limit: int = 20,
                                visible: tuple[str, list] = ("true", []), *,
                                own_only: bool = False) -> list[asyncpg.Record]:
    """Calls of a client, or of a company and its clients (its own only: `own_only`, the card's
    switch, B2), that the user may see (`visible` from $3)."""
    # Its ids first, then each one's latest calls through the counterparty index (issue 25): an OR with the
    # company's clients could not use it, and walked every call newest first until 20 were found (all of
    # them for a client with fewer: 6 ms on 9,000 calls, and more with every call), and so did the plan a
    # prepared statement settles on for "= ANY" of those ids.
    whose = "$1::bigint" if own_only else "$1::bigint UNION SELECT client_id FROM company_members WHERE company_id = $1"
    return await conn.fetch(
        f"""SELECT c.id, c.caller_number, c.called_number, c.started_at, c.status, c.wait_seconds,
                  c.talk_seconds, c.route, {RULE_FACTS},
                  u.full_name AS operator_name, l.name AS line_name,
                  (SELECT r.id FROM recordings r WHERE r.call_id = c.id AND r.path IS NOT NULL
                   ORDER BY r.id DESC LIMIT 1) AS recording_id,
                  v.id AS voicemail_id, v.seconds AS voicemail_seconds, v.listened_at AS voicemail_listened_at,
                  """ + voicemails_q.LISTENERS + """ AS voicemail_listeners
           FROM (SELECT """ + whose + """) AS who(id)
           CROSS JOIN LATERAL (
               SELECT c.* FROM calls c WHERE c.counterparty_id = who.id AND """ + visible[0] + """
               ORDER BY c.started_at DESC LIMIT $2) c
           LEFT JOIN users u ON u.id = c.operator_user_id
           LEFT JOIN lines l ON l.id = c.line_id
           LEFT JOIN voicemails v ON v.call_id = c.id
           ORDER BY c.started_at DESC LIMIT $2""",
        counterparty_id, limit, *visible[1])


async def call_page(conn: asyncpg.Connection, call_id: int) -> asyncpg.Record | None:
    """Everything the call's page shows (web/views/call_page.py): the PBX's fields, the people,
    queue and line by name, the counterparty it is on and that one's responsible user (who may
    change the call: crm/calls/permissions), and its latest stored recording."""
    return await conn.fetchrow(
        f"""SELECT c.id, c.channel_id, c.linked_id, c.direction, c.caller_number, c.caller_name, c.called_number,
                  c.caller_normalized, c.called_normalized, c.line, c.started_at, c.answered_at, c.ended_at,
                  c.wait_seconds, c.talk_seconds, c.status, c.hangup_cause, c.route, c.comment,
                  c.counterparty_id, cp.display_name AS counterparty_name, cp.deleted_at AS counterparty_deleted_at,
                  cp.responsible_user_id, c.operator_user_id, op.full_name AS operator_name,
                  c.caller_user_id, cu.full_name AS caller_user_name, c.owner_user_id,
                  c.queue_id, q.name AS queue_name, c.line_id, l.name AS line_name,
                  (SELECT r.id FROM recordings r WHERE r.call_id = c.id AND r.path IS NOT NULL
                   ORDER BY r.id DESC LIMIT 1) AS recording_id, {_LEG_USERS} AS leg_user_ids, {ORDER_CUSTOMER_SQL}
           FROM calls c
           LEFT JOIN counterparties cp ON cp.id = c.counterparty_id
           LEFT JOIN users op ON op.id = c.operator_user_id
           LEFT JOIN users cu ON cu.id = c.caller_user_id
           LEFT JOIN queues q ON q.id = c.queue_id
           LEFT JOIN lines l ON l.id = c.line_id
           WHERE c.id = $1""", call_id)


async def call_id_by_channel(conn: asyncpg.Connection, channel_id: str) -> int | None:
    return await conn.fetchval("SELECT id FROM calls WHERE channel_id = $1", channel_id)


async def call_for_change(conn: asyncpg.Connection, call_id: int) -> asyncpg.Record | None:
    """The call, locked, with the responsible user of the counterparty it is on now."""
    return await conn.fetchrow(
        f"""SELECT c.*, cp.responsible_user_id, cp.deleted_at AS counterparty_deleted_at, {_LEG_USERS} AS leg_user_ids,
                   {ORDER_CUSTOMER_SQL}
            FROM calls c LEFT JOIN counterparties cp ON cp.id = c.counterparty_id
            WHERE c.id = $1 FOR UPDATE OF c""", call_id)


async def set_counterparty(conn: asyncpg.Connection, call_id: int, counterparty_id: int) -> None:
    await conn.execute("UPDATE calls SET counterparty_id = $2 WHERE id = $1", call_id, counterparty_id)


async def set_comment(conn: asyncpg.Connection, call_id: int, comment: str) -> None:
    await conn.execute("UPDATE calls SET comment = $2 WHERE id = $1", call_id, comment)


async def listeners_of(conn: asyncpg.Connection, call_ids: list[int]) -> dict[int, asyncpg.Record]:
    """What the call rules need to know of these calls (can_listen), by id."""
    rows = await conn.fetch(
        f"""SELECT c.id, {RULE_FACTS}
            FROM calls c WHERE c.id = ANY($1::bigint[])""", call_ids)
    return {r["id"]: r for r in rows}


async def comments_of(conn: asyncpg.Connection, call_ids: list[int]) -> dict[int, str]:
    """The operators' comments on these calls, by call id."""
    rows = await conn.fetch("SELECT id, comment FROM calls WHERE id = ANY($1::bigint[])", call_ids)
    return {r["id"]: r["comment"] for r in rows}
