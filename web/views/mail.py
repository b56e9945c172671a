"""E-mail on the card (issue 23, I4): a card's threads, a message, its body and attachments, the unfiled
inbox, and writing from the card.

A message's HTML body is never part of the page: /mail/{id}/body answers it sanitised (crm/mail/sanitize.py)
with a CSP of its own (`sandbox` without scripts, nothing loaded but our own images, and remote ones only when
asked), shown in an <iframe sandbox> on the message page, so even a sanitiser miss runs no script.
Attachments are downloads (Content-Disposition: attachment, nosniff, a sandbox CSP); only raster images
asked for inline by a body's cid: are shown in place.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crm import i18n
from crm.counterparties import service as counterparties
from crm.db import DATABASE_ERRORS
from crm.errors import DomainError
from crm.i18n import ngettext
from crm.labels import label
from crm.mail import queries as q
from crm.mail import reading, replies
from crm.mail.sanitize import sanitize
from web.db import connection
from web.mail_stream import MailHub
from web.paging import Page
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas_mail import (
    MailCardQuery,
    MailComposeQuery,
    MailFileForm,
    MailFileNewForm,
    MailMessageQuery,
    MailSendForm,
)
from web.sse import event_stream
from web.templating import render
from web.urls import path_for
from web.validation import form_body, parse
from web.validation import query as parse_query

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
CARD_THREADS = 5  # on the card itself; the card's mail page pages through all
PAGE_THREADS = 20
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,126}/[a-z0-9][a-z0-9.+-]{0,126}$")
# Shown in place when a body asks for them (cid:): raster images only (an SVG is a document with script).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
BODY_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox allow-same-origin; default-src 'none'; "
            "style-src 'unsafe-inline'; img-src 'self' data:{remote}; frame-ancestors 'self'; "
            "form-action 'none'; base-uri 'none'")
DOWNLOAD_CSP = "sandbox; default-src 'none'"


async def card_mail(conn, card: dict, page: int = 1, size: int = CARD_THREADS) -> dict:
    """What _card_mail.html needs: the card's threads (a page of them)."""
    threads, more = await q.card_threads(conn, card["id"], page, size)
    return {"mail_threads": threads, "mail_more": more, "mail_page": page}


async def card_mail_page(request: Request):
    """GET /counterparties/{id}/mail: the card's e-mail threads, newest first, paged (?mpage=)."""
    page = parse_query(request, MailCardQuery).mpage or 1
    async with connection(request) as conn:
        card = await counterparties.card(conn, request.user, request.path_params["id"])
        mail = await card_mail(conn, card, page, PAGE_THREADS)
    return await html_or_json(request, "mail_card.html", {"card": card, **mail},
                              lambda: {"counterparty_id": card["id"], "threads": mail["mail_threads"],
                                       "more": mail["mail_more"]})


def cid_urls(request: Request, attachments: list[dict]) -> dict[str, str]:
    return {a["content_id"]: path_for(request, "mail.attachment", id=a["id"]) + "?inline=1"
            for a in attachments if a["content_id"] and a["stored"]}


async def message_page(request: Request):
    """GET /mail/{id}: headers, the text, the HTML body in a sandboxed frame, attachments."""
    remote = parse_query(request, MailMessageQuery).remote
    async with connection(request) as conn:
        message = await reading.read(conn, request.user, request.path_params["id"])
    blocked = 0
    if message["body_html"]:
        blocked = sanitize(message["body_html"], cid_urls=cid_urls(request, message["attachment_list"])).remote_images
    body_url = path_for(request, "mail.body", id=message["id"]) + ("?remote=1" if remote else "")
    return await html_or_json(
        request, "mail_message.html", {"message": message, "blocked": blocked, "remote": remote, "body_url": body_url,
                                       "status": status_text(message)},
        lambda: {k: message[k] for k in ("id", "direction", "from_address", "from_name", "to_addresses",
                                         "cc_addresses", "subject", "at", "status", "error", "body_text",
                                         "attachment_list", "thread_id")})


async def body(request: Request):
    """GET /mail/{id}/body: the HTML body sanitised, a document of its own for the message page's frame."""
    remote = parse_query(request, MailMessageQuery).remote
    async with connection(request) as conn:
        message = await reading.read(conn, request.user, request.path_params["id"])
    cleaned = sanitize(message["body_html"], cid_urls=cid_urls(request, message["attachment_list"]),
                       remote_images=remote)
    document = ('<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
                f'</head><body>{cleaned.html}</body></html>')
    response = Response(document, media_type="text/html; charset=utf-8")
    response.headers["content-security-policy"] = BODY_CSP.format(remote=" https: http:" if remote else "")
    response.headers["referrer-policy"] = "no-referrer"
    return response


def status_text(message: dict) -> dict:
    """The status as the page shows it, in the reader's language (the page and its live updates)."""
    words = label("mail_status", message["status"])
    if message["direction"] == "out" and message["attempts"]:
        words += " (" + ngettext("%(num)d attempt", "%(num)d attempts", message["attempts"]) % {
            "num": message["attempts"]} + ")"
    return {"status": message["status"], "text": words, "error": message["error"]}


async def events(request: Request):
    """GET /mail/{id}/events: the message's status (event "status", {"status", "text", "error"}) at once and
    each time it changes (the sender's NOTIFY), as text/event-stream; the browser reconnects by itself."""
    message_id = request.path_params["id"]
    async with connection(request) as conn:
        await reading.read(conn, request.user, message_id)  # NotFound for one the user may not read
    hub: MailHub = request.app.state.mail
    language = i18n.current()

    async def stream():
        yield "retry: 1000\n: connected\n\n"
        async for changed in hub.changes(message_id, KEEPALIVE_SECONDS):
            if not changed:
                yield ": keepalive\n\n"
                continue
            try:
                with i18n.using(language):
                    async with request.app.state.pool.acquire(timeout=5) as conn:
                        message = await q.message(conn, message_id)
                    if message is None:
                        return
                    yield f"event: status\ndata: {json.dumps(status_text(message))}\n\n"
            except DATABASE_ERRORS as e:
                log.warning("e-mail %d status not read (%s)", message_id, type(e).__name__)
                yield ": not read\n\n"

    return event_stream(stream())


def content_disposition(disposition: str, filename: str) -> str:
    """attachment; filename="ascii"; filename*=UTF-8''percent-encoded (RFC 6266), from any name."""
    name = filename.replace("\r", " ").replace("\n", " ").strip() or "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("\\", "_").replace("?", "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


async def attachment(request: Request):
    """GET /mail/attachments/{id}: the file; ?inline=1 shows a raster image in place (a body's cid:)."""
    async with connection(request) as conn:
        row = await reading.attachment(conn, request.user, request.path_params["id"])
    content_type = row["content_type"].lower().strip()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "application/octet-stream"
    inline = request.query_params.get("inline") == "1" and content_type in INLINE_TYPES
    response = Response(bytes(row["content"]), media_type=content_type)
    response.headers["content-disposition"] = content_disposition("inline" if inline else "attachment",
                                                                  row["filename"])
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["content-security-policy"] = DOWNLOAD_CSP
    return response


async def _compose_page(request: Request, counterparty_id: int, thread_id: int | None, *,
                        error: DomainError | None = None, typed: dict | None = None):
    async with connection(request) as conn:
        offered = await replies.form(conn, request.user, counterparty_id, thread_id)
    typed = typed or {"to": offered["addresses"][0] if offered["addresses"] else "", "subject": offered["subject"],
                      "body": ""}
    return await render(request, "mail_compose.html", {**offered, "typed": typed, "error": error},
                        status_code=error.status if error else 200)


async def compose(request: Request):
    """GET /counterparties/{id}/mail/new?thread=: the form for a reply in the thread or a new e-mail."""
    return await _compose_page(request, request.path_params["id"], parse_query(request, MailComposeQuery).thread)


async def send(request: Request):
    """POST thread, to, subject, body: queued, filed on the card, back to the card; an error keeps the text."""
    counterparty_id = request.path_params["id"]
    raw = await request.form()
    typed = {k: str(raw.get(k) or "") for k in ("to", "subject", "body")}
    thread_id = None
    try:
        form = parse(MailSendForm, raw)
        thread_id = form.thread
        async with connection(request) as conn:
            message_id = await replies.queue(conn, request.user, counterparty_id, form.thread, form.to,
                                             form.subject, form.body)
    except DomainError as e:
        return await _compose_page(request, counterparty_id, thread_id, error=e, typed=typed)
    log.info("user %s queued e-mail %d on card %d", request.user["id"], message_id, counterparty_id)
    return RedirectResponse(path_for(request, "mail.message_page", id=message_id), status_code=303)


@require_role(*reading.FILE_ROLES)
async def unfiled_page(request: Request):
    """GET /mail/unfiled: incoming e-mail no card has the addresses of, to file or make a card from."""
    return await _unfiled(request)


async def _unfiled(request: Request, *, error: DomainError | None = None):
    page = Page.from_request(request)
    async with connection(request) as conn:
        messages, more = await q.unfiled(conn, page.number, page.size)
    return await html_or_json(request, "mail_unfiled.html",
                              {"messages": messages, "page": page, "more": more, "error": error},
                              lambda: {"messages": messages, "more": more},
                              status_code=error.status if error else 200)


async def file_message(request: Request):
    """POST counterparty_id: the message, and its sender's other unfiled ones, filed on that card."""
    try:
        form, _raw = await form_body(request, MailFileForm)
        async with connection(request) as conn:
            done = await reading.file_message(conn, request.user, request.path_params["id"], form.counterparty_id)
    except DomainError as e:
        return await _unfiled(request, error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=done["counterparty_id"]) + "#mail",
                            status_code=303)


async def file_new(request: Request):
    """POST name: a new client from the sender, and the sender's unfiled messages on it."""
    try:
        form, _raw = await form_body(request, MailFileNewForm)
        async with connection(request) as conn:
            done = await reading.file_to_new(conn, request.user, request.path_params["id"], form.name,
                                             request.app.state.settings.default_region)
    except DomainError as e:
        return await _unfiled(request, error=e)
    return RedirectResponse(path_for(request, "counterparty_cards.card", id=done["counterparty_id"]) + "#mail",
                            status_code=303)


routes = [
    Route("/counterparties/{id:int}/mail", card_mail_page, name="mail.card_mail", methods=["GET"]),
    Route("/counterparties/{id:int}/mail", send, name="mail.send", methods=["POST"]),
    Route("/counterparties/{id:int}/mail/new", compose, name="mail.compose", methods=["GET"]),
    Route("/mail/unfiled", unfiled_page, name="mail.unfiled", methods=["GET"]),
    Route("/mail/{id:int}", message_page, name="mail.message_page", methods=["GET"]),
    Route("/mail/{id:int}/body", body, name="mail.body", methods=["GET"]),
    Route("/mail/{id:int}/events", events, name="mail.events", methods=["GET"]),
    Route("/mail/{id:int}/file", file_message, name="mail.file", methods=["POST"]),
    Route("/mail/{id:int}/file-new", file_new, name="mail.file_new", methods=["POST"]),
    Route("/mail/attachments/{id:int}", attachment, name="mail.attachment", methods=["GET"]),
]
