"""Attaching a call to a counterparty, and learning the number it came from (A7, G2).

Of a call's fields only the counterparty may change; the PBX's are read-only.
"""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.counterparties import permissions as perm
from crm.counterparties import queries as cq
from crm.errors import Forbidden, NotFound


async def attach_call(conn: asyncpg.Connection, user, call_id: int, counterparty_id: int) -> str:
    """Attach; returns what happened to the number, in words for the user."""
    async with conn.transaction():
        call = await conn.fetchrow("SELECT * FROM calls WHERE id = $1 FOR UPDATE", call_id)
        if call is None:
            raise NotFound(f"no call {call_id}")
        counterparty = await cq.get_counterparty(conn, counterparty_id)
        if counterparty is None or counterparty["deleted_at"] is not None:
            raise NotFound(f"no counterparty {counterparty_id}")
        # Whoever took the call says whose it was; others need the right to edit the card.
        if call["operator_user_id"] != user["id"] and not perm.can_edit(user, counterparty):
            raise Forbidden("only the operator who took the call, or someone who may edit the card, attaches it")
        await conn.execute("UPDATE calls SET counterparty_id = $2 WHERE id = $1", call_id, counterparty_id)
        await audit.record(conn, user["id"], "call", call_id, "attach",
                           {"counterparty_id": [call["counterparty_id"], counterparty_id]})
        number = call["caller_normalized"] if call["direction"] == "incoming" else call["called_normalized"]
        raw = call["caller_number"] if call["direction"] == "incoming" else call["called_number"]
        if not number:
            return "the call has no number to learn"
        owner = await cq.contact_owner(conn, number)
        if owner is not None:
            if owner["id"] == counterparty_id:
                return f"{raw} is already on the card"
            return f"{raw} belongs to {owner['display_name']}; not added"
        await cq.insert_contact(conn, counterparty_id, "phone", raw, number,
                                f"learned from call {call_id}", user["id"], auto_added=True)
        await audit.record(conn, user["id"], "counterparty", counterparty_id, "learn number", {"value": raw})
        return f"{raw} added to the card"
