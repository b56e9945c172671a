"""Learning a number (A7): the number an unknown caller or SMS sender used, added to the card the call or
the message was attached to, marked as added by the CRM (contacts.auto_added), and audited."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.counterparties import queries as cq
from crm.i18n import gettext as _


async def learn_number(conn: asyncpg.Connection, user_id: int | None, counterparty_id: int, raw: str,
                       number: str, note: str, action: str, source: Mapping) -> str:
    """Add `number` (`raw` as it came) to the card unless a card has it; what happened, in words for
    the user. `action` and `source` ({"call": [None, id]}) go to the card's audit row."""
    owner = await cq.contact_owner(conn, number)
    if owner is not None:
        if owner["id"] == counterparty_id:
            return _("%(number)s is already on the card") % {"number": raw}
        return _("%(number)s belongs to %(name)s; not added") % {"number": raw, "name": owner["display_name"]}
    await cq.insert_contact(conn, counterparty_id, "phone", raw, number, note, user_id, auto_added=True)
    await audit.record(conn, user_id, "counterparty", counterparty_id, action, {"phone": [None, raw], **source})
    return _("%(number)s added to the card") % {"number": raw}
