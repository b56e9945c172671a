"""Calls and their outcomes per line over a period (issue 15, L2: "load of the phone lines",
"effectiveness of promotions" - each advertised number is a line).

Incoming calls only; a call nobody answered is missed, as in the call statistics (F5).
The wait is how long an answered caller waited for someone to pick up. Live lines show
with no calls too; a deleted line shows while its calls are in the period; calls to
numbers without a line make one row of their own.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

_REPORT = """
    WITH period AS (
        SELECT c.line_id, c.status, c.wait_seconds FROM calls c
        WHERE c.direction = 'incoming'
          AND c.started_at >= ($1::date::timestamp AT TIME ZONE $3::text)
          AND c.started_at < (($2::date + 1)::timestamp AT TIME ZONE $3::text)
          AND {visible})
    SELECT l.id AS line_id, l.name, l.did, l.trunk, (l.deleted_at IS NOT NULL) AS deleted,
           count(p.status) AS total,
           count(p.status) FILTER (WHERE p.status = 'answered') AS answered,
           count(p.status) FILTER (WHERE p.status <> 'answered') AS missed,
           avg(p.wait_seconds) FILTER (WHERE p.status = 'answered')::float AS average_wait
    FROM lines l LEFT JOIN period p ON p.line_id = l.id
    GROUP BY l.id
    HAVING l.deleted_at IS NULL OR count(p.status) > 0
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, false, count(*),
           count(*) FILTER (WHERE status = 'answered'), count(*) FILTER (WHERE status <> 'answered'),
           avg(wait_seconds) FILTER (WHERE status = 'answered')::float
    FROM period WHERE line_id IS NULL
    HAVING count(*) > 0
"""


async def calls_per_line(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str,
                         visible: tuple[str, list] = ("true", [])) -> list[dict]:
    """One row per line (the busiest first), then the calls without a line; start and end are days
    on the call centre's clock, both included; the calls the reader may see (`visible` from $4)."""
    rows = [dict(r) for r in await conn.fetch(_REPORT.replace("{visible}", visible[0]), start, end, timezone,
                                              *visible[1])]
    for r in rows:
        r["average_wait"] = round(r["average_wait"], 1) if r["average_wait"] is not None else None
        r["answered_share"] = r["answered"] / r["total"] if r["total"] else None
    lines = sorted((r for r in rows if r["line_id"] is not None), key=lambda r: (-r["total"], r["name"].lower()))
    return lines + [r for r in rows if r["line_id"] is None]


def totals(rows: list[dict]) -> dict:
    total = sum(r["total"] for r in rows)
    answered = sum(r["answered"] for r in rows)
    waited = [(r["average_wait"], r["answered"]) for r in rows if r["average_wait"] is not None]
    average = sum(w * n for w, n in waited) / answered if answered and waited else None
    return {"total": total, "answered": answered, "missed": sum(r["missed"] for r in rows),
            "average_wait": round(average, 1) if average is not None else None,
            "answered_share": answered / total if total else None}
