"""A transfer asked for in the web UI (the screen pop, the call's page): checked here - the call,
the target, the user's right - then handed to the Stasis app (crm/transfers/queries.py
request_transfer: a row and a NOTIFY) and audited. The app answers in the pops and the
request's status."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import gettext
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.transfers import queries as transfers_q
from crm.transfers.decide import refusal


@dataclass(frozen=True)
class TransferInput:
    """Exactly one of: a user, a queue, a number."""

    user_id: int | None = None
    queue_id: int | None = None
    number: str | None = None

    @classmethod
    def from_choice(cls, to: str, number: str | None = None) -> "TransferInput":
        """A form's choice: "user:5", "queue:3", or "number:" with the number typed beside it."""
        kind, _sep, value = to.partition(":")
        if kind == "number":
            return cls(number=number)
        if kind == "user" and value.isdigit():
            return cls(user_id=int(value))
        if kind == "queue" and value.isdigit():
            return cls(queue_id=int(value))
        raise ValidationError({"to": _("choose one: a user, a queue or a number")})

    def kind(self) -> str:
        given = [k for k, v in (("user", self.user_id), ("queue", self.queue_id), ("number", self.number)) if v]
        if len(given) != 1:
            raise ValidationError({"to": _("choose one: a user, a queue or a number")})
        return given[0]


async def ask(conn: asyncpg.Connection, user, inp: TransferInput, *, region: str, call_id: int | None = None,
              channel_id: str | None = None) -> int:
    """Ask the Stasis app to transfer the call (by id, or by its caller channel as the pop knows it);
    the request's id."""
    kind = inp.kind()
    found = await transfers_q.facts(conn, call_id=call_id, channel_id=channel_id)
    if found is None:
        raise NotFound(_("no such call (yet)"))
    call, facts = found
    refused = refusal(facts, user, target_user_id=inp.user_id)
    if refused is not None:
        status, message = refused
        raise (Forbidden if status == 403 else Conflict)(gettext(message))
    number, target_name = None, None
    if kind == "user" and inp.user_id is not None:
        target = await transfers_q.target_user(conn, inp.user_id)
        if target is None:
            raise ValidationError({"user_id": _("no active user with a phone of that id")})
        target_name = target["full_name"]
    elif kind == "queue" and inp.queue_id is not None:
        queue = await transfers_q.target_queue(conn, inp.queue_id)
        if queue is None:
            raise ValidationError({"queue_id": _("no such queue")})
        target_name = queue["name"]
    else:
        try:
            # The trunk takes numbers as dialled nationally (digits, no +); the dial rules do the rest.
            number = normalize_phone(inp.number or "", region).lstrip("+")
        except InvalidPhone as e:
            raise ValidationError({"number": str(e)}) from None
        target_name = number
    request_id = await transfers_q.request_transfer(
        conn, call_id=call["id"], channel_id=call["channel_id"], requested_by=user["id"], kind=kind,
        user_id=inp.user_id if kind == "user" else None, queue_id=inp.queue_id if kind == "queue" else None,
        number=number)
    await audit.record(conn, user["id"], "call", call["id"], "transfer",
                       audit.created({"to": kind, "target": target_name, "request": request_id}))
    return request_id


async def page_part(conn: asyncpg.Connection, user, call_id: int) -> tuple[list[dict], dict | None]:
    """The call's page: its legs, and - when this user may transfer the call now - whom to."""
    legs = [dict(r) for r in await transfers_q.legs_of_call(conn, call_id)]
    found = await transfers_q.facts(conn, call_id=call_id)
    if found is None or refusal(found[1], user) is not None:
        return legs, None
    users, queues = await transfers_q.targets(conn)
    talking = found[1].talking_user_id
    return legs, {"users": [dict(u) for u in users if u["id"] != talking], "queues": [dict(q) for q in queues]}
