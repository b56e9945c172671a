"""A card's communications timeline (B1-B4): notes, calls, SMS, e-mails, tasks and deals, web chats,
shop orders, newest first, paged. A company's includes its clients' unless
asked for its own only; a call shows on the card of every party whose number
it has, an SMS on its card (or, while it is on none, on the card its number is on), an e-mail on every
card it is filed on (mail_message_cards, issue 23)."""

from __future__ import annotations

import json

import asyncpg

# The kinds a reader chooses from (in words: crm/labels.py TIMELINE_KIND).
KINDS = ("note", "call", "sms", "email", "task", "chat", "shop_order")
DEFAULT_KINDS = ("note", "task")

_SCOPE = """
    WITH scope AS (
        SELECT $1::bigint AS id
        UNION SELECT client_id FROM company_members WHERE company_id = $1 AND NOT $2::boolean),
    numbers AS (
        SELECT normalized FROM contacts WHERE counterparty_id IN (SELECT id FROM scope)
        AND deleted_at IS NULL AND kind IN ('phone', 'fax'))
"""

_BRANCHES = {
    "note": """SELECT 'note' AS kind, n.id, n.created_at AS at, n.body AS text, NULL::text AS status,
                      u.full_name AS who, NULL::bigint AS recording_id, NULL::text AS direction
               FROM notes n LEFT JOIN users u ON u.id = n.author_user_id
               WHERE n.counterparty_id IN (SELECT id FROM scope) AND n.deleted_at IS NULL""",
    # A card's calls: the newest page's worth of each party's and each number's (the indexes on the card, the
    # caller's and the called number with started_at, 0003 and 0051), not every call of a card with 10,000.
    "call": """SELECT 'call', c.id, c.started_at, c.comment, c.status, u.full_name,
                      (SELECT r.id FROM recordings r WHERE r.call_id = c.id AND r.path IS NOT NULL
                       ORDER BY r.id DESC LIMIT 1), c.direction
               FROM calls c LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
               WHERE c.id IN (
                   SELECT p.id FROM scope s CROSS JOIN LATERAL (
                       SELECT c.id FROM calls c WHERE c.counterparty_id = s.id AND {visible}
                       ORDER BY c.started_at DESC, c.id DESC LIMIT $3::bigint + $4::bigint) p
                   UNION ALL
                   SELECT p.id FROM numbers n CROSS JOIN LATERAL (
                       SELECT c.id FROM calls c WHERE c.caller_normalized = n.normalized AND {visible}
                       ORDER BY c.started_at DESC, c.id DESC LIMIT $3::bigint + $4::bigint) p
                   UNION ALL
                   SELECT p.id FROM numbers n CROSS JOIN LATERAL (
                       SELECT c.id FROM calls c WHERE c.called_normalized = n.normalized AND {visible}
                       ORDER BY c.started_at DESC, c.id DESC LIMIT $3::bigint + $4::bigint) p)""",
    # An SMS in or out (issue 21): its status, who wrote it (none for incoming and campaigns').
    "sms": """SELECT 'sms', m.id, m.created_at, m.body, m.status, u.full_name, NULL::bigint, m.direction
              FROM sms_messages m LEFT JOIN users u ON u.id = m.user_id
              WHERE m.counterparty_id IN (SELECT id FROM scope)
                 OR (m.counterparty_id IS NULL AND m.phone IN (SELECT normalized FROM numbers))""",
    # An e-mail in or out (issue 23): its subject, status, who wrote it (the sender's name for incoming).
    "email": """SELECT 'email', m.id, m.received_at, m.subject, m.status,
                       coalesce(u.full_name, nullif(m.from_name, ''), m.from_address), NULL::bigint, m.direction
                FROM mail_messages m LEFT JOIN users u ON u.id = m.user_id
                WHERE m.id IN (SELECT message_id FROM mail_message_cards
                               WHERE counterparty_id IN (SELECT id FROM scope))""",
    "task": """SELECT 'task', t.id, t.created_at, t.title, t.status, u.full_name, NULL::bigint,
                      CASE WHEN tt.is_deal THEN 'deal' ELSE tt.name END
               FROM tasks t JOIN task_types tt ON tt.id = t.type_id
               LEFT JOIN users u ON u.id = t.responsible_user_id
               WHERE t.counterparty_id IN (SELECT id FROM scope) AND t.deleted_at IS NULL""",
    # A web chat attached to the card (issue 23): the page it started on as its text, the visitor's address
    # as its "direction"; the page adds its transcript (crm/webchat/service.py transcripts).
    "chat": """SELECT 'chat', c.id, c.created_at, c.page_url, c.status, u.full_name, NULL::bigint, c.ip
               FROM chat_conversations c LEFT JOIN users u ON u.id = c.operator_user_id
               WHERE c.counterparty_id IN (SELECT id FROM scope)""",
    # An order from a web shop (issue 24): its number, sum and currency; its status; the shop.
    "shop_order": """SELECT 'shop_order', o.id, coalesce(o.ordered_at, o.created_at),
                            concat_ws(' ', nullif(o.number, ''), o.total::text, nullif(o.currency, '')), o.status,
                            s.name, NULL::bigint, CASE WHEN o.is_open THEN 'open' ELSE 'closed' END
                     FROM shop_orders o JOIN shop_sources s ON s.id = o.source_id
                     WHERE o.counterparty_id IN (SELECT id FROM scope)""",
}


def normalize_kinds(kinds) -> tuple[str, ...]:
    """Known kinds only, in the catalogue's order."""
    wanted = set(kinds or ())
    return tuple(k for k in KINDS if k in wanted)


async def timeline(conn: asyncpg.Connection, counterparty_id: int, kinds: tuple[str, ...], *, own_only: bool,
                   page: int = 1, size: int = 20,
                   visible_calls: tuple[str, list] = ("true", [])) -> tuple[list[dict], bool]:
    """(items, whether there are more). `visible_calls`: the calls the reader may see, as a condition on
    calls c with parameters from $5 (crm/calls/rules_sql.py)."""
    chosen = normalize_kinds(kinds)
    branches = [_BRANCHES[k].replace("{visible}", visible_calls[0]) for k in chosen]
    if not branches:
        return [], False
    extra = visible_calls[1] if "call" in chosen else []
    # Columns named here: the first branch chosen may not be the one that names them (kinds=task alone).
    sql = (f"{_SCOPE} SELECT * FROM ({' UNION ALL '.join(branches)}) "
           f"items (kind, id, at, text, status, who, recording_id, direction) "
           f"ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4")
    rows = [dict(r) for r in await conn.fetch(sql, counterparty_id, own_only, size + 1, (page - 1) * size, *extra)]
    return rows[:size], len(rows) > size


async def preferred_kinds(conn: asyncpg.Connection, user_id: int) -> tuple[str, ...]:
    value = await conn.fetchval("SELECT value FROM user_preferences WHERE user_id = $1 AND key = 'timeline.kinds'",
                                user_id)
    if value is None:
        return DEFAULT_KINDS
    return normalize_kinds(json.loads(value))


async def remember_kinds(conn: asyncpg.Connection, user_id: int, kinds: tuple[str, ...]) -> None:
    await conn.execute(
        """INSERT INTO user_preferences (user_id, key, value) VALUES ($1, 'timeline.kinds', $2::jsonb)
           ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value""", user_id, json.dumps(list(kinds)))
