"""The card's SMS chat (issue 21, I1): its messages in and out with their statuses, a form to send one, the
do-not-text switch. On the card (templates/_sms_chat.html, anchor #sms) and on a page of its own
(/counterparties/{id}/sms, JSON at .json and /api/...: the same view). /counterparties/{id}/sms/events
sends the chat's messages again (Server-Sent Events) each time one of them changes or arrives
(web/sms_stream.py); web/static/sms_chat.js counts the parts as the text is typed and marks incoming
messages read while the chat is open."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm import i18n
from crm.counterparties import service as counterparties
from crm.db import DATABASE_ERRORS
from crm.errors import DomainError, ValidationError
from crm.i18n import _
from crm.sms import service
from web.db import connection
from web.jsonout import jsonable
from web.resource import html_or_json, reads_json, wants_json
from web.schemas_sms_chat import SmsOptOutForm, SmsReadForm, SmsSendForm
from web.sms_stream import SmsHub
from web.sse import event_stream
from web.templating import templates
from web.urls import path_for
from web.validation import form_body, json_body, parse

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
DEBOUNCE_SECONDS = 0.03  # a submit's answer and its receipt in one go make one update
# What leaves an open chat as it was for now (the card deleted meanwhile, the database away): said, not fatal.
_NOT_READ: tuple[type[BaseException], ...] = (DomainError, *DATABASE_ERRORS)
MESSAGES = "_sms_messages.html"


def chat_json(chat: dict) -> dict:
    return jsonable({k: chat[k] for k in ("counterparty_id", "messages", "unread", "last_in", "opt_out", "phones")})


def error_lines(error: DomainError | None) -> list[str]:
    """A refusal in words: each field's message after the field's name as the form calls it."""
    if error is None:
        return []
    if not isinstance(error, ValidationError):
        return [str(error)]
    fields = {"phone": _("To"), "body": _("Text of the SMS")}
    return [f"{fields[k]}: {v}" if k in fields else v for k, v in error.errors.items()]


def context(request: Request, chat: dict, *, error: DomainError | None = None, typed: dict | None = None) -> dict:
    """What _sms_chat.html needs, on the card or on the chat's page."""
    return {"sms": chat, "sms_errors": error_lines(error), "sms_typed": typed or {},
            "sms_max_parts": request.app.state.settings.sms_max_parts}


async def _page(request: Request, counterparty_id: int, *, error: DomainError | None = None,
                typed: dict | None = None):
    async with connection(request) as conn:
        card = await counterparties.card(conn, request.user, counterparty_id)
        chat = await service.chat_of(conn, card)
    return await html_or_json(request, "sms_chat.html", lambda: {"card": card, **context(request, chat, error=error,
                                                                                            typed=typed)},
                              lambda: chat_json(chat), status_code=error.status if error else 200)


async def chat_page(request: Request):
    """GET: the chat (HTML), or {"messages": [...], "opt_out": ..., "phones": [...]} (JSON)."""
    return await _page(request, request.path_params["id"])


def _back(request: Request, counterparty_id: int) -> RedirectResponse:
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=counterparty_id) + "#sms",
                            status_code=303)


async def send(request: Request):
    """POST phone, body: queue the SMS (crm/sms/service.py); an error shows on the chat with the text kept."""
    counterparty_id = request.path_params["id"]
    typed: dict = {}
    settings = request.app.state.settings
    try:
        if reads_json(request):
            form = await json_body(request, SmsSendForm)
        else:
            raw = await request.form()
            typed = {"phone": str(raw.get("phone") or ""), "body": str(raw.get("body") or "")}
            form = parse(SmsSendForm, raw)
        async with connection(request) as conn:
            message_id = await service.send_text(conn, request.user, counterparty_id, form.phone, form.body,
                                                 settings.default_region, max_parts=settings.sms_max_parts)
    except DomainError as e:
        if wants_json(request) or reads_json(request):
            raise
        return await _page(request, counterparty_id, error=e, typed=typed)
    log.info("user %s queued sms %d to card %d", request.user["id"], message_id, counterparty_id)
    if wants_json(request) or reads_json(request):
        return JSONResponse({"id": message_id}, status_code=201)
    return _back(request, counterparty_id)


async def _body(request: Request, model):
    """The request's JSON body or form, as the model."""
    return await json_body(request, model) if reads_json(request) else (await form_body(request, model))[0]


async def opt_out(request: Request):
    """POST opt_out (checkbox), reason: the card's do-not-text switch."""
    counterparty_id = request.path_params["id"]
    try:
        form = await _body(request, SmsOptOutForm)
        async with connection(request) as conn:
            await service.set_opt_out(conn, request.user, counterparty_id, form.opt_out, form.reason)
    except DomainError as e:
        if wants_json(request) or reads_json(request):
            raise
        return await _page(request, counterparty_id, error=e)
    if wants_json(request) or reads_json(request):
        return JSONResponse({"opt_out": form.opt_out})
    return _back(request, counterparty_id)


async def mark_read(request: Request):
    """POST up_to: the incoming messages up to that id are read (sms_chat.js, while the chat is open)."""
    form = await _body(request, SmsReadForm)
    async with connection(request) as conn:
        marked = await service.mark_read(conn, request.user, request.path_params["id"], form.up_to)
    if wants_json(request) or reads_json(request):
        return JSONResponse({"marked": marked})
    return Response(status_code=204)


async def _messages(request: Request, counterparty_id: int, language: str) -> str:
    """The chat's messages as HTML now, on a pooled connection of its own (the stream outlives the request)."""
    with i18n.using(language):
        async with request.app.state.pool.acquire(timeout=5) as conn:
            chat = await service.chat(conn, request.user, counterparty_id)
        html = templates.get_template(MESSAGES).render({"request": request, **context(request, chat)})
    return json.dumps({"html": html, "unread": chat["unread"], "last_in": chat["last_in"]})


async def events(request: Request):
    """GET: the chat's messages (event "messages", {"html", "unread", "last_in"}) at once and each time
    one of them changes, as text/event-stream. The browser reconnects by itself (retry) and gets them again."""
    counterparty_id = request.path_params["id"]
    async with connection(request) as conn:
        await counterparties.card(conn, request.user, counterparty_id)  # NotFound for a card it may not see
    hub: SmsHub = request.app.state.sms
    language = i18n.current()

    async def stream():
        yield "retry: 1000\n: connected\n\n"
        async for changed in hub.changes(counterparty_id, KEEPALIVE_SECONDS, DEBOUNCE_SECONDS):
            if not changed:
                yield ": keepalive\n\n"
                continue
            try:
                yield f"event: messages\ndata: {await _messages(request, counterparty_id, language)}\n\n"
            except _NOT_READ as e:
                log.warning("sms chat %d for user %s not read (%s)", counterparty_id, request.user["id"],
                            type(e).__name__)
                yield ": not read\n\n"

    return event_stream(stream())


routes = [
    Route("/counterparties/{id:int}/sms", chat_page, name="sms_chat.chat_page", methods=["GET"]),
    Route("/counterparties/{id:int}/sms.json", chat_page, name="sms_chat.chat_json", methods=["GET"]),
    Route("/api/counterparties/{id:int}/sms", chat_page, name="sms_chat.chat_api", methods=["GET"]),
    Route("/counterparties/{id:int}/sms", send, name="sms_chat.send", methods=["POST"]),
    Route("/api/counterparties/{id:int}/sms", send, name="sms_chat.send_api", methods=["POST"]),
    Route("/counterparties/{id:int}/sms/opt-out", opt_out, name="sms_chat.opt_out", methods=["POST"]),
    Route("/counterparties/{id:int}/sms/read", mark_read, name="sms_chat.mark_read", methods=["POST"]),
    Route("/counterparties/{id:int}/sms/events", events, name="sms_chat.events", methods=["GET"]),
]
