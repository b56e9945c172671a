"""Collapsed cards: a user's short list of cards to reopen from any section (A6)."""

from __future__ import annotations

import asyncpg

TRAY_SIZE = 12


async def collapse(conn: asyncpg.Connection, user_id: int, counterparty_id: int) -> None:
    await conn.execute(
        """INSERT INTO collapsed_cards (user_id, counterparty_id) VALUES ($1, $2)
           ON CONFLICT (user_id, counterparty_id) DO UPDATE SET collapsed_at = now()""",
        user_id, counterparty_id)
    # Keep the tray short: the oldest collapsed cards fall off.
    await conn.execute(
        """DELETE FROM collapsed_cards WHERE user_id = $1 AND counterparty_id NOT IN (
               SELECT counterparty_id FROM collapsed_cards WHERE user_id = $1
               ORDER BY collapsed_at DESC LIMIT $2)""",
        user_id, TRAY_SIZE)


async def reopen(conn: asyncpg.Connection, user_id: int, counterparty_id: int) -> None:
    await conn.execute("DELETE FROM collapsed_cards WHERE user_id = $1 AND counterparty_id = $2",
                       user_id, counterparty_id)


async def tray(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.id, c.kind, c.display_name FROM collapsed_cards t
           JOIN counterparties c ON c.id = t.counterparty_id
           WHERE t.user_id = $1 AND c.deleted_at IS NULL ORDER BY t.collapsed_at""",
        user_id)
