"""JSON API for counterparties and their contacts."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm.calls import queries as calls_q
from crm.counterparties import queries as cq
from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.labels import label
from crm.tasks import queries as tasks_q
from web.db import connection
from web.formatting import local_time
from web.jsonout import jsonable
from web.locale import request_locale
from web.schemas import ContactIn, CounterpartyFields, CounterpartyIn
from web.validation import json_body
from web.views import counterparty_cards

_FIELDS = tuple(CounterpartyFields.model_fields)  # names, remark, comment, status, responsible, queue


def _contact(c: ContactIn) -> ContactInput:
    return ContactInput(c.kind, c.value, c.note)


def _input(body: CounterpartyIn, kind: str) -> CounterpartyInput:
    fields = {k: getattr(body, k) for k in _FIELDS}
    fields["status"] = fields["status"] or "active"
    return CounterpartyInput(kind=kind, **fields, contacts=tuple(_contact(c) for c in body.contacts),
                             addresses=body.addresses, company_ids=body.company_ids)


def _region(request: Request) -> str:
    return request.app.state.settings.default_region


async def create(request: Request):
    body = await json_body(request, CounterpartyIn)
    async with connection(request) as conn:
        new_id = await service.create(conn, request.user, _input(body, body.kind), _region(request))
        card = await service.card(conn, request.user, new_id)
    return JSONResponse(jsonable(card), status_code=201)


async def update(request: Request):
    counterparty_id = request.path_params["id"]
    body = await json_body(request, CounterpartyFields)
    async with connection(request) as conn:
        current = await service.card(conn, request.user, counterparty_id)
        merged: dict[str, Any] = {k: current[k] if current[k] is not None or k.endswith("_id") else "" for k in _FIELDS}
        merged.update({k: getattr(body, k) for k in body.model_fields_set})
        await service.update(conn, request.user, counterparty_id,
                             _input(CounterpartyIn.model_construct(**merged), current["kind"]))
        card = await service.card(conn, request.user, counterparty_id)
    return JSONResponse(jsonable(card))


async def delete(request: Request):
    async with connection(request) as conn:
        await service.delete(conn, request.user, request.path_params["id"])
    return Response(status_code=204)


async def add_contact(request: Request):
    contact = _contact(await json_body(request, ContactIn))
    async with connection(request) as conn:
        await service.add_contact(conn, request.user, request.path_params["id"], contact, _region(request))
        card = await service.card(conn, request.user, request.path_params["id"])
    return JSONResponse(jsonable(card), status_code=201)


async def remove_contact(request: Request):
    async with connection(request) as conn:
        await service.remove_contact(conn, request.user, request.path_params["contact_id"])
    return Response(status_code=204)


async def update_contact(request: Request):
    """PATCH /api/contacts/{id} {"value": ..., "note": ...}: the contact's new value; its kind stays."""
    body = await json_body(request, ContactIn)
    async with connection(request) as conn:
        note = body.note
        if "note" not in body.model_fields_set:  # the note stays as it was
            current = await cq.get_contact(conn, request.path_params["contact_id"])
            note = current["note"] if current else ""
        counterparty_id = await service.update_contact(conn, request.user, request.path_params["contact_id"],
                                                       ContactInput("", body.value, note), _region(request))
        card = await service.card(conn, request.user, counterparty_id)
    return JSONResponse(jsonable(card))


async def recent(request: Request):
    """The last interactions, for the screen pop: calls with their comments, open tasks."""
    counterparty_id = request.path_params["id"]
    async with connection(request) as conn:
        card = await service.card(conn, request.user, counterparty_id)
        calls = await calls_q.calls_of_counterparty(conn, counterparty_id, limit=5)
        comments = await calls_q.comments_of(conn, [c["id"] for c in calls])
        tasks = await tasks_q.open_tasks_of(conn, counterparty_id, limit=5)
    zone = request_locale(request.scope).zone
    return JSONResponse(jsonable({
        "id": card["id"], "name": card["display_name"], "remark": card["remark"],
        "responsible": card["responsible_name"],
        # started_at stays ISO 8601 with its offset; "when" is how a page shows it, on the reader's clock.
        # The codes stay; *_label are their words in the reader's language.
        "calls": [{"started_at": c["started_at"], "when": local_time(c["started_at"], zone),
                   "direction": c["direction"], "direction_label": label("call_direction", c["direction"]),
                   "status": c["status"], "status_label": label("call_status", c["status"]),
                   "operator": c["operator_name"], "comment": comments.get(c["id"], "")} for c in calls],
        "tasks": [{**dict(t), "status_label": label("task_status", t["status"])} for t in tasks]}))


routes = [
    Route("/api/counterparties/{id:int}/recent", recent, name="api_counterparties.recent", methods=["GET"]),
    Route("/api/counterparties", create, name="api_counterparties.create", methods=["POST"]),
    # The card's one view answers JSON here (web/resource.py).
    Route("/api/counterparties/{id:int}", counterparty_cards.card, name="api_counterparties.get", methods=["GET"]),
    Route("/api/counterparties/{id:int}", update, name="api_counterparties.update", methods=["PATCH"]),
    Route("/api/counterparties/{id:int}", delete, name="api_counterparties.delete", methods=["DELETE"]),
    Route("/api/counterparties/{id:int}/contacts", add_contact,
          name="api_counterparties.add_contact", methods=["POST"]),
    Route("/api/contacts/{contact_id:int}", remove_contact,
          name="api_counterparties.remove_contact", methods=["DELETE"]),
    Route("/api/contacts/{contact_id:int}", update_contact,
          name="api_counterparties.update_contact", methods=["PATCH"]),
]
