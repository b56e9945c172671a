"""Tables of requests the web makes and one Stasis process takes up (click-to-call, transfers,
supervision): a row is NOTIFYed by id, taken once (pending -> the table's taken status), and ignored
once it is older than a caller would wait for (crm/listen.py listens and claims)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

# A request nobody took up by then is too old to act on.
PENDING_SECONDS = 60
# More than one PBX (issue 26): a request about a call is for the app of the node the call is on (its
# channels are that node's Asterisk's). Each app's connections say their node (pbxcrm.node, crm/db.py);
# with one PBX neither the calls nor the connections have one, and every request matches.
_CALL_ON_THIS_NODE = ("(SELECT c.node FROM calls c WHERE c.id = call_id) "
                      "IS NOT DISTINCT FROM NULLIF(current_setting('pbxcrm.node', true), '')")


@dataclass(frozen=True)
class RequestRows:
    table: str  # a constant of the product's, never user input
    taken_status: str
    of_a_call: bool = False  # its rows have a call_id: taken by that call's node only

    @property
    def _mine(self) -> str:
        return f" AND {_CALL_ON_THIS_NODE}" if self.of_a_call else ""

    @property
    def take(self) -> str:
        """The UPDATE that takes pending request $1, for the caller's RETURNING (or a WITH around it)."""
        return (f"UPDATE {self.table} SET status = '{self.taken_status}', updated_at = now() "
                f"WHERE id = $1 AND status = 'pending' AND created_at > now() - interval '{PENDING_SECONDS} seconds'"
                + self._mine)

    async def pending_ids(self, conn: asyncpg.Connection) -> list[int]:
        """Requests made while no process listened, still young enough to take."""
        return [r["id"] for r in await conn.fetch(
            f"""SELECT id FROM {self.table} WHERE status = 'pending'
                AND created_at > now() - interval '{PENDING_SECONDS} seconds'{self._mine} ORDER BY id""")]
