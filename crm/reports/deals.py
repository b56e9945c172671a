"""The managers' deal report (C5): per manager, for a period - deals planned,
won, lost, in progress, created, and the sums of their amounts."""

from __future__ import annotations

import datetime as dt

import asyncpg


async def managers_deals(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str,
                         responsible_id: int | None = None) -> list[dict]:
    """Planned: open deals due in the period. Won / lost: closed in the period with that outcome.
    In progress: open now. Created: created in the period. Amounts: of the won deals and of all
    deals the row counts."""
    rows = await conn.fetch(
        """WITH deals AS (
               SELECT t.*, (t.created_at AT TIME ZONE $3)::date AS created_day,
                      (t.closed_at AT TIME ZONE $3)::date AS closed_day
               FROM tasks t JOIN task_types tt ON tt.id = t.type_id AND tt.is_deal
               WHERE t.deleted_at IS NULL AND ($4::bigint IS NULL OR t.responsible_user_id = $4))
           SELECT u.id AS user_id, u.full_name AS manager,
                  count(*) FILTER (WHERE status IN ('new', 'in_progress')
                                     AND deadline_date BETWEEN $1 AND $2) AS planned,
                  count(*) FILTER (WHERE outcome = 'won' AND closed_day BETWEEN $1 AND $2) AS won,
                  count(*) FILTER (WHERE outcome = 'lost' AND closed_day BETWEEN $1 AND $2) AS lost,
                  count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                  count(*) FILTER (WHERE created_day BETWEEN $1 AND $2) AS created,
                  coalesce(sum(amount) FILTER (WHERE outcome = 'won' AND closed_day BETWEEN $1 AND $2), 0)
                      AS won_amount,
                  coalesce(sum(amount) FILTER (WHERE created_day BETWEEN $1 AND $2
                                                OR closed_day BETWEEN $1 AND $2
                                                OR (status IN ('new', 'in_progress')
                                                    AND deadline_date BETWEEN $1 AND $2)), 0) AS total_amount
           FROM deals d JOIN users u ON u.id = d.responsible_user_id
           GROUP BY u.id, u.full_name ORDER BY u.full_name""",
        start, end, timezone, responsible_id)
    return [dict(r) for r in rows]
