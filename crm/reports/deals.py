"""The managers' deal report (C5): per manager, for a period - deals planned,
won, lost, in progress, created, and the sums of their amounts; filtered by
responsible, status, tags and tags the deals must not have (D2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from crm.tags import tag_conditions


@dataclass(frozen=True)
class DealFilter:
    responsible_id: int | None = None
    statuses: tuple[str, ...] = ()
    tag_ids: tuple[int, ...] = ()
    without_tag_ids: tuple[int, ...] = ()


async def managers_deals(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str,
                         responsible_id: int | None = None, deal_filter: DealFilter | None = None) -> list[dict]:
    """Planned: open deals due in the period. Won / lost: closed in the period with that outcome.
    In progress: open now. Created: created in the period. Amounts: of the won deals and of all
    deals the row counts."""
    f = deal_filter or DealFilter(responsible_id=responsible_id)
    args: list = [start, end, timezone]

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["t.deleted_at IS NULL"]
    if f.responsible_id is not None:
        where.append(f"t.responsible_user_id = {p(f.responsible_id)}")
    if f.statuses:
        where.append(f"t.status = ANY({p(list(f.statuses))}::text[])")
    where += tag_conditions(p, "t.id", "task", f.tag_ids, f.without_tag_ids)
    rows = await conn.fetch(
        f"""WITH deals AS (
               SELECT t.*, (t.created_at AT TIME ZONE $3)::date AS created_day,
                      (t.closed_at AT TIME ZONE $3)::date AS closed_day
               FROM tasks t JOIN task_types tt ON tt.id = t.type_id AND tt.is_deal
               WHERE {' AND '.join(where)})
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
        *args)
    return [dict(r) for r in rows]
