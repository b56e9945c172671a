"""E-mail per operator (issue 23, B1 reports): over a period of the call centre's days, per user - the
e-mails they wrote on cards, how many of those were sent and how many failed, and the incoming e-mails
filed on the cards they are responsible for."""

from __future__ import annotations

import datetime as dt

import asyncpg


async def per_operator(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str) -> list[dict]:
    rows = await conn.fetch(
        """WITH written AS (
               SELECT user_id, count(*) AS written, count(*) FILTER (WHERE status = 'sent') AS sent,
                      count(*) FILTER (WHERE status = 'failed') AS failed
               FROM mail_messages WHERE direction = 'out' AND user_id IS NOT NULL
                 AND (received_at AT TIME ZONE $3)::date BETWEEN $1 AND $2
               GROUP BY user_id),
           incoming AS (
               SELECT cp.responsible_user_id AS user_id, count(DISTINCT m.id) AS incoming
               FROM mail_messages m JOIN mail_message_cards c ON c.message_id = m.id
               JOIN counterparties cp ON cp.id = c.counterparty_id
               WHERE m.direction = 'in' AND cp.responsible_user_id IS NOT NULL
                 AND (m.received_at AT TIME ZONE $3)::date BETWEEN $1 AND $2
               GROUP BY cp.responsible_user_id)
           SELECT u.id AS user_id, u.full_name AS operator, coalesce(w.written, 0) AS written,
                  coalesce(w.sent, 0) AS sent, coalesce(w.failed, 0) AS failed, coalesce(i.incoming, 0) AS incoming
           FROM users u LEFT JOIN written w ON w.user_id = u.id LEFT JOIN incoming i ON i.user_id = u.id
           WHERE w.user_id IS NOT NULL OR i.user_id IS NOT NULL
           ORDER BY u.full_name, u.id""", start, end, timezone)
    return [dict(r) for r in rows]
