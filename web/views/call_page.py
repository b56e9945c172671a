"""A call's page (issue 15): everything about one call - the PBX's fields (read-only), its
route in words, its recording and voicemail (for those who may listen), its counterparty and comment (both
may change after the call, by crm/calls/permissions.py), its legs and callback tasks.
One view answers the page (/calls/{id}) and JSON (/calls/{id}.json, or Accept: application/json)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.calls import queries as calls_q
from crm.calls.attach import attach_call, comment_call, far_number
from crm.calls.permissions import can_view, may_change
from crm.calls.route import route_text
from crm.counterparties.listing import MIN_QUERY, ListQuery, list_counterparties
from crm.counterparties.queries import number_owner
from crm.errors import DomainError, NotFound
from crm.i18n import gettext as _
from crm.recordings.policy import can_listen
from crm.roles import is_customer, sees_everything
from crm.supervision.requests import page_part as supervision_page_part
from crm.tasks import queries as tq
from crm.transfers.requests import page_part as transfer_page_part
from crm.voicemails import queries as voicemails_q
from crm.voicemails.model import can_play
from web.call_rules import rules_of
from web.db import connection
from web.resource import html_or_json
from web.schemas import AttachIn, CallCommentIn, CallPageQuery
from web.urls import path_for
from web.validation import form_body
from web.validation import query as parse_query

# Found counterparties offered to attach the call to, of each kind.
FOUND = 10
# The fields of the JSON answer, as the calls table names them (the PBX's, then the CRM's).
FIELDS = ("id", "channel_id", "linked_id", "direction", "caller_number", "caller_name", "called_number", "line",
          "line_id", "line_name", "started_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds", "status",
          "hangup_cause", "queue_id", "queue_name", "operator_user_id", "operator_name", "caller_user_id",
          "caller_user_name", "counterparty_id", "counterparty_name", "comment")


async def _call(conn, request: Request) -> dict:
    """The call, if this user may see it: another's is as missing as one that does not exist."""
    call_id = request.path_params["id"]
    row = await calls_q.call_page(conn, call_id)
    if row is None or not can_view(request.user, row, await rules_of(request)):
        raise NotFound(_("no call %(id)s") % {"id": call_id})
    return dict(row)


async def call_page(request: Request, error: DomainError | None = None):
    """The page, or the JSON; after a refused change, the page with what was wrong (`error`)."""
    me = request.user
    find = parse_query(request, CallPageQuery).find.strip()
    async with connection(request) as conn:
        call = await _call(conn, request)
        rules = await rules_of(request)
        editable = may_change(rules, call, me)
        tasks = await tq.tasks_of_call(conn, call["id"], None if sees_everything(me) else me["id"])
        number, key = far_number(call)
        # Whose card the number is on: the call centre's directory, not a customer's to read (issue 22).
        owner = (await number_owner(conn, key) if key and call["direction"] != "internal" and not is_customer(me)
                 else None)
        found = []
        if editable and len(find) >= MIN_QUERY:
            for kind in ("client", "company"):
                found += (await list_counterparties(conn, ListQuery(
                    kind=kind, q=find, size=FOUND, default_region=request.app.state.settings.default_region))).rows
        voicemail = await voicemails_q.voicemail_of_call(conn, call["id"])
    listen = call["recording_id"] is not None and can_listen(me, call, rules)
    recording_url = path_for(request, "recordings.play", id=call["recording_id"]) if listen else None
    # What the caller left when nobody answered (issue 15), for those who may play it.
    # A customer's user hears its orders' call recordings, not what callers left for the call centre.
    if voicemail is not None and (is_customer(me) or not can_play(me, voicemail, voicemail["listeners"], rules)):
        voicemail = None
    voicemail_url = path_for(request, "recordings.play_voicemail", id=voicemail["id"]) if voicemail else None
    # The call's legs, one per operator who talked, and its Transfer for who may (crm/transfers/).
    async with connection(request) as conn:
        legs, transfer = await transfer_page_part(conn, me, call["id"])
        # Listen-in, whisper, barge for supervisors and admins on a live call (crm/supervision/).
        supervise = await supervision_page_part(conn, me, call["id"], may_listen=can_listen(me, call, rules))
    return await html_or_json(request, "call_page.html", lambda: {
        "call": call, "tasks": tasks, "number": number, "number_owner": owner, "recording_url": recording_url,
        "editable": editable, "find": find, "found": found, "error": error, "legs": legs, "voicemail": voicemail,
        "transfer": transfer, "supervise": supervise,
    }, lambda: {**{k: call[k] for k in FIELDS}, "route": route_text(call["route"]), "recording_url": recording_url,
                "voicemail_url": voicemail_url,
                "can_change": editable, "tasks": [dict(t) for t in tasks], "legs": legs,
                "can_transfer": transfer is not None,
                "can_supervise": bool(supervise and supervise["modes"])},
        status_code=error.status if error else 200)


async def attach(request: Request):
    """POST /calls/{id}/counterparty (a form): the call is this counterparty's."""
    rules = await rules_of(request)
    return await _change(request, AttachIn, lambda conn, call, form: attach_call(
        conn, request.user, call["id"], form.counterparty_id, rules))


async def comment(request: Request):
    """POST /calls/{id}/comment (a form): the call's comment, rewritten."""
    rules = await rules_of(request)
    return await _change(request, CallCommentIn, lambda conn, call, form: comment_call(
        conn, request.user, call["id"], form.comment, rules))


async def _change(request: Request, model, change):
    """A change to a call the user may see (else 404); refused or wrong, the page says why."""
    async with connection(request) as conn:
        call = await _call(conn, request)
    try:
        form, _raw = await form_body(request, model)
        async with connection(request) as conn:
            await change(conn, call, form)
    except DomainError as e:
        return await call_page(request, e)
    return RedirectResponse(path_for(request, "call_page.call_page", id=call["id"]), status_code=303)


routes = [
    Route("/calls/{id:int}", call_page, name="call_page.call_page", methods=["GET"]),
    Route("/calls/{id:int}.json", call_page, name="call_page.call_json", methods=["GET"]),
    Route("/calls/{id:int}/counterparty", attach, name="call_page.attach", methods=["POST"]),
    Route("/calls/{id:int}/comment", comment, name="call_page.comment", methods=["POST"]),
]
