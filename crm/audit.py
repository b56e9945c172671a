"""The audit trail: every change, attributed to a user and kept (FEATURES.md G5)."""

from __future__ import annotations

import json

import asyncpg


async def record(conn: asyncpg.Connection, user_id: int | None, entity: str, entity_id: int | None,
                 action: str, changes: dict | None = None) -> None:
    await conn.execute(
        "INSERT INTO audit_log (user_id, entity, entity_id, action, changes) VALUES ($1, $2, $3, $4, $5::jsonb)",
        user_id, entity, entity_id, action, json.dumps(changes or {}, default=str),
    )


async def history(conn: asyncpg.Connection, entity: str, entity_id: int, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT a.at, a.action, a.changes, u.full_name AS user_name FROM audit_log a
           LEFT JOIN users u ON u.id = a.user_id
           WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.at DESC, a.id DESC LIMIT $3""",
        entity, entity_id, limit,
    )
