"""Attaching a call to a counterparty, learning the number it came from (A7, G2), and the
call's comment: each change checked by crm/calls/permissions and audited with before and after.

Of a call's fields only the counterparty and the comment may change; the PBX's are read-only,
and so is the owner the call was logged with (it decides who may listen).
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from crm import audit
from crm.calls import queries as calls_q
from crm.calls import rule_queries
from crm.calls.permissions import may_change
from crm.calls.rules import Rule
from crm.counterparties import queries as cq
from crm.counterparties.learn import learn_number
from crm.errors import Forbidden, NotFound
from crm.i18n import N_, gettext
from crm.i18n import gettext as _

REFUSED = N_("only the call's participants, the responsible manager of the client it is on, "
             "and supervisors or admins may change a call")


def far_number(call) -> tuple[str, str | None]:
    """The number a call is about, as sent or dialled and as its match key: an incoming call's
    caller's, else the number dialled."""
    if call["direction"] == "incoming":
        return call["caller_number"], call["caller_normalized"]
    return call["called_number"], call["called_normalized"]


async def call_id_by_channel(conn: asyncpg.Connection, channel_id: str) -> int:
    call_id = await calls_q.call_id_by_channel(conn, channel_id)
    if call_id is None:
        raise NotFound(_("no such call (yet)"))
    return call_id


async def _rules(conn: asyncpg.Connection, rules: Iterable[Rule] | None) -> Iterable[Rule]:
    """The call rules given (the request's), else the database's."""
    return await rule_queries.load(conn) if rules is None else rules


async def _call(conn: asyncpg.Connection, call_id: int) -> asyncpg.Record:
    call = await calls_q.call_for_change(conn, call_id)
    if call is None:
        raise NotFound(_("no call %(id)s") % {"id": call_id})
    return call


async def attach_call(conn: asyncpg.Connection, user, call_id: int, counterparty_id: int,
                      rules: Iterable[Rule] | None = None) -> str:
    """Attach; returns what happened to the number, in words for the user. `rules`: the call rules
    (None: read from the database)."""
    async with conn.transaction():
        call = await _call(conn, call_id)
        counterparty = await cq.get_counterparty(conn, counterparty_id)
        if counterparty is None or counterparty["deleted_at"] is not None:
            raise NotFound(_("no counterparty %(id)s") % {"id": counterparty_id})
        if not may_change(await _rules(conn, rules), call, user, counterparty):
            raise Forbidden(_("%(refused)s; a manager moves it only onto a client he may edit")
                            % {"refused": gettext(REFUSED)})
        await calls_q.set_counterparty(conn, call_id, counterparty_id)
        await audit.record(conn, user["id"], "call", call_id, "attach",
                           {"counterparty_id": [call["counterparty_id"], counterparty_id]})
        raw, number = far_number(call)
        if not number:
            return _("the call has no number to learn")
        return await learn_number(conn, user["id"], counterparty_id, raw, number,
                                  _("learned from call %(id)s") % {"id": call_id}, "learn number",
                                  {"call": [None, call_id]})


async def comment_call(conn: asyncpg.Connection, user, call_id: int, text: str,
                       rules: Iterable[Rule] | None = None) -> None:
    async with conn.transaction():
        call = await _call(conn, call_id)
        if not may_change(await _rules(conn, rules), call, user):
            raise Forbidden(gettext(REFUSED))
        await calls_q.set_comment(conn, call_id, text)
        await audit.record(conn, user["id"], "call", call_id, "comment", {"comment": [call["comment"], text]})
