"""A supervisor's listen-in, whisper or barge asked for in the web (the call page, the wallboard):
checked here - the call, the user's role and call rules, the call's state - then handed to the
Stasis app (queries.request: a row and a NOTIFY) and audited. The app rings the supervisor's
phone; the request's status says how it goes, and its end is audited too (ari_app/supervision/)."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from crm import audit
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import gettext
from crm.i18n import gettext as _
from crm.roles import sees_everything
from crm.supervision import MODES
from crm.supervision import queries as supervision_q
from crm.supervision.decide import ALREADY, SupervisionFacts, refusal

AUDIT_START, AUDIT_END = "supervise", "supervise end"


async def ask(conn: asyncpg.Connection, user: Mapping, call_id: int, mode: str, *, may_listen: bool) -> int:
    """Ask the Stasis app to ring this supervisor's phone into the call; the request's id.
    `may_listen`: the call rules' listen for this user and call (the web knows the rules)."""
    found = await supervision_q.facts(conn, call_id)
    if found is None:
        raise NotFound(_("no such call (yet)"))
    call, facts = found
    refused = refusal(facts, user, mode, may_listen=may_listen)
    if refused is not None:
        status, message = refused
        if status == 422:
            raise ValidationError({"mode": gettext(message)})
        raise (Forbidden if status == 403 else Conflict)(gettext(message))
    if await supervision_q.open_of(conn, call["id"], user["id"]) is not None:
        raise Conflict(gettext(ALREADY[1]))
    request_id = await supervision_q.request(conn, call_id=call["id"], channel_id=call["channel_id"],
                                             supervisor_id=user["id"], extension=user["extension"], mode=mode)
    await audit.record(conn, user["id"], "call", call["id"], AUDIT_START,
                       audit.created({"supervision": mode, "extension": user["extension"], "request": request_id}))
    return request_id


def offered(facts: SupervisionFacts | None, user: Mapping, *, may_listen: bool) -> bool:
    """Whether the call page shows this user the listen-in control now."""
    return facts is not None and refusal(facts, user, "listen", may_listen=may_listen) is None


async def page_part(conn: asyncpg.Connection, user: Mapping, call_id: int, *, may_listen: bool) -> dict | None:
    """The call's page: the listen-in control when this user may use it now, and how this user's
    own request on the call goes; None: nothing to show."""
    if not sees_everything(user):
        return None
    found = await supervision_q.facts(conn, call_id)
    mine = await supervision_q.open_of(conn, call_id, user["id"])
    can = offered(found[1] if found else None, user, may_listen=may_listen)
    if not can and mine is None:
        return None
    return {"modes": MODES if can else (), "mine": dict(mine) if mine else None}
