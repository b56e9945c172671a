"""The operators' web chat (issue 23, I3; seed 002: invitations and a messenger-like chat).

/chats is the chat desk: the conversations (waiting, active, mine, closed; an operator sees the waiting ones
and their own, supervisors and admins all) and, live, the invitations. An operator with the desk open is
"online" (its stream, /chats/events, is in chat_operator_streams): a visitor's first message invites every
online operator with a sound; the first to accept takes it (a conditional UPDATE), the others' invitations
turn to "taken by X". /chats/{id} is the conversation: its messages and the visitor's typing live through an
event stream (/chats/{id}/events), the operator's messages and typing POSTed with the CSRF token.

Server-Sent Events and POST rather than a logged-in websocket: the operator's side then goes through the
same session, CSRF, IP allow-list and customer checks as every other page (those middlewares check HTTP
requests), and reuses the SSE plumbing the SMS chat and the screen pops already have."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm.db import DATABASE_ERRORS
from crm.errors import DomainError
from crm.labels import CHAT_STATUS, label
from crm.roles import is_customer, sees_everything
from crm.webchat import queries as q
from crm.webchat import rules, service
from web.chat_hub import LOBBY, ChatHub
from web.db import connection
from web.jsonout import jsonable
from web.paging import Page
from web.resource import reads_json, wants_json
from web.schemas_chat import ChatAttachForm, ChatListQuery, ChatSendForm
from web.sse import event_stream
from web.templating import render
from web.urls import path_for
from web.validation import form_body, json_body
from web.validation import query as parse_query

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
_DB_TROUBLE: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, TimeoutError)


def _no_customers(request: Request) -> None:
    if is_customer(request.user):  # web/customer_access.py keeps them off already
        raise HTTPException(404)


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(jsonable(data))}\n\n"


def invitation(row) -> dict:
    return {"id": row["id"], "site": row["site_name"], "page_url": row["page_url"],
            "first_message": (row["first_message"] or "")[:300], "at": row["created_at"].isoformat(),
            "status": row["status"], "operator": row["operator_name"] or ""}


async def chats_list(request: Request):
    _no_customers(request)
    params = parse_query(request, ChatListQuery)
    view = params.view if params.view in rules.LIST_VIEWS else "waiting"
    page = Page.from_request(request)
    async with connection(request) as conn:
        rows, total = await q.list_conversations(conn, view, request.user["id"], sees_everything(request.user),
                                                 limit=page.size, offset=page.offset)
        waiting = await q.waiting(conn)
    return await render(request, "chats.html", {"rows": rows, "view": view, "views": rules.LIST_VIEWS,
                                                "page": page.with_total(total), "waiting": waiting})


async def lobby_events(request: Request):
    """The desk's invitations: "waiting" (every waiting chat, at once and after a reconnect), "invite" (a new
    one), "taken" ({id, name, mine}) and "gone" ({id}: closed, or left offline). While it is open the
    operator is online."""
    _no_customers(request)
    hub: ChatHub = request.app.state.chat
    pool = request.app.state.pool
    user = request.user
    stream_id = uuid.uuid4().hex
    queue: asyncio.Queue = asyncio.Queue(maxsize=200)
    hub.subscribe(LOBBY, queue)

    async def stream():
        try:
            async with pool.acquire(timeout=5) as conn:
                await q.touch_stream(conn, stream_id, user["id"])
                waiting = [invitation(r) for r in await q.waiting(conn)]
            yield "retry: 2000\n: connected\n\n" + _event("waiting", {"chats": waiting})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    async with pool.acquire(timeout=5) as conn:
                        await q.touch_stream(conn, stream_id, user["id"])
                    yield ": keepalive\n\n"
                    continue
                name = event.get("e")
                if name == "resync":
                    async with pool.acquire(timeout=5) as conn:
                        waiting = [invitation(r) for r in await q.waiting(conn)]
                    yield _event("waiting", {"chats": waiting})
                elif name == "new":
                    async with pool.acquire(timeout=5) as conn:
                        row = await q.conversation(conn, int(event["c"]))
                    if row is not None and row["status"] == "waiting":
                        yield _event("invite", invitation(row))
                elif name == "accepted":
                    yield _event("taken", {"id": event["c"], "name": event.get("name", ""),
                                           "mine": event.get("by") == user["id"]})
                else:
                    yield _event("gone", {"id": event["c"]})
        except _DB_TROUBLE as e:
            log.warning("chat desk of user %s: database unavailable (%s)", user["id"], type(e).__name__)
        finally:
            hub.unsubscribe(LOBBY, queue)
            try:
                async with pool.acquire(timeout=5) as conn:
                    await q.drop_stream(conn, stream_id)
            except _DB_TROUBLE:
                pass  # it is forgotten after ONLINE_SECONDS anyway

    return event_stream(stream())


async def _chat_context(request: Request, conn, conversation_id: int) -> dict:
    chat = await service.conversation(conn, request.user, conversation_id)
    return {"chat": chat, "messages": await q.messages(conn, conversation_id),
            "pages": await q.pages_of(conn, conversation_id)}


async def chat_page(request: Request, *, error: DomainError | None = None):
    _no_customers(request)
    async with connection(request) as conn:
        context = await _chat_context(request, conn, request.path_params["id"])
    words = {code: label("chat_status", code) for code in CHAT_STATUS}
    return await render(request, "chat.html", {**context, "error": error, "status_words": words},
                        status_code=error.status if error else 200)


def _message(row) -> dict:
    return {"id": row["id"], "from": row["sender"], "body": row["body"], "at": row["created_at"].isoformat(),
            "name": row["operator_name"] or ""}


async def chat_events(request: Request):
    """The conversation live: "message" (each new one), "typing" (the visitor is), "status" ({status,
    operator, counterparty})."""
    _no_customers(request)
    conversation_id = request.path_params["id"]
    async with connection(request) as conn:
        await service.conversation(conn, request.user, conversation_id)  # NotFound for one not theirs to see
    hub: ChatHub = request.app.state.chat
    pool = request.app.state.pool
    queue: asyncio.Queue = asyncio.Queue(maxsize=200)
    hub.subscribe(conversation_id, queue)
    after = int(request.query_params.get("after", "0")) if request.query_params.get("after", "").isdigit() else 0
    after = min(after, 2**62)

    async def stream():
        nonlocal after
        try:
            yield "retry: 1000\n: connected\n\n"
            await queue.put({"e": "resync"})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                name = event.get("e")
                if name == "typing":
                    if event.get("by") == "visitor":
                        yield _event("typing", {})
                    continue
                async with pool.acquire(timeout=5) as conn:
                    for row in await q.messages(conn, conversation_id, after):
                        after = row["id"]
                        yield _event("message", _message(row))
                    if name in ("accepted", "closed", "attached", "resync"):
                        row = await q.conversation(conn, conversation_id)
                        if row is not None:
                            yield _event("status", {"status": row["status"], "operator": row["operator_name"] or "",
                                                    "counterparty": row["counterparty_name"] or ""})
        except DATABASE_ERRORS as e:
            log.warning("chat %d stream: database unavailable (%s)", conversation_id, type(e).__name__)
        finally:
            hub.unsubscribe(conversation_id, queue)

    return event_stream(stream())


def _done(request: Request, conversation_id: int, data: dict | None = None, status: int = 200) -> Response:
    if wants_json(request) or reads_json(request):
        return JSONResponse(data or {"ok": True}, status_code=status)
    return RedirectResponse(path_for(request, "chats.chat_page", id=conversation_id), status_code=303)


async def _refused(request: Request, conversation_id: int, error: DomainError, back_to_list: bool = False):
    if wants_json(request) or reads_json(request):
        raise error
    if back_to_list:
        return await _list_with_error(request, error)
    return await chat_page(request, error=error)


async def _list_with_error(request: Request, error: DomainError):
    async with connection(request) as conn:
        rows, total = await q.list_conversations(conn, "waiting", request.user["id"], sees_everything(request.user),
                                                 limit=50, offset=0)
        waiting = await q.waiting(conn)
    return await render(request, "chats.html", {"rows": rows, "view": "waiting", "views": rules.LIST_VIEWS,
                                                "page": Page(1, 50, total), "waiting": waiting, "error": error},
                        status_code=error.status)


async def accept(request: Request):
    """POST: take the waiting chat; someone was first: 409 "taken by X" (the desk again, saying so)."""
    _no_customers(request)
    conversation_id = request.path_params["id"]
    try:
        async with connection(request) as conn:
            await service.accept(conn, request.user, conversation_id)
    except DomainError as e:
        return await _refused(request, conversation_id, e, back_to_list=True)
    return _done(request, conversation_id)


async def _body(request: Request, model):
    return await json_body(request, model) if reads_json(request) else (await form_body(request, model))[0]


async def send(request: Request):
    """POST body: the operator's message (JSON: 201 {"id"})."""
    _no_customers(request)
    conversation_id = request.path_params["id"]
    try:
        form = await _body(request, ChatSendForm)
        async with connection(request) as conn:
            message_id = await service.operator_message(conn, request.user, conversation_id, form.body)
    except DomainError as e:
        return await _refused(request, conversation_id, e)
    return _done(request, conversation_id, {"id": message_id}, 201)


async def typing(request: Request):
    _no_customers(request)
    async with connection(request) as conn:
        await service.operator_typing(conn, request.user, request.path_params["id"])
    return Response(status_code=204)


async def close(request: Request):
    _no_customers(request)
    conversation_id = request.path_params["id"]
    try:
        async with connection(request) as conn:
            await service.close(conn, request.user, conversation_id)
    except DomainError as e:
        return await _refused(request, conversation_id, e)
    return _done(request, conversation_id)


async def attach(request: Request):
    """POST counterparty_id (empty: detached)."""
    _no_customers(request)
    conversation_id = request.path_params["id"]
    try:
        form = await _body(request, ChatAttachForm)
        async with connection(request) as conn:
            await service.attach(conn, request.user, conversation_id, form.counterparty_id)
    except DomainError as e:
        return await _refused(request, conversation_id, e)
    return _done(request, conversation_id)


routes = [
    Route("/chats", chats_list, name="chats.chats_list", methods=["GET"]),
    Route("/chats/events", lobby_events, name="chats.lobby_events", methods=["GET"]),
    Route("/chats/{id:int}", chat_page, name="chats.chat_page", methods=["GET"]),
    Route("/chats/{id:int}/events", chat_events, name="chats.chat_events", methods=["GET"]),
    Route("/chats/{id:int}/accept", accept, name="chats.accept", methods=["POST"]),
    Route("/chats/{id:int}/messages", send, name="chats.send", methods=["POST"]),
    Route("/chats/{id:int}/typing", typing, name="chats.typing", methods=["POST"]),
    Route("/chats/{id:int}/close", close, name="chats.close", methods=["POST"]),
    Route("/chats/{id:int}/attach", attach, name="chats.attach", methods=["POST"]),
]
