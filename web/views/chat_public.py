"""The web chat's public side (issue 23, I3): GET /chat/widget.js, the script a site adds with
`<script src="https://crm.example/chat/widget.js" data-site="KEY" async></script>`, and the visitor's
websocket /chat/ws?site=KEY. No login and no CSRF (web/public_paths.py): the site's key names the site, and
the page's Origin must be one of its allowed origins, else the socket is refused before it opens.

The socket speaks JSON frames. The widget sends {"type": "hello", "token", "page": {url, title, referrer},
"identity": {id, email, name, ts, sig} | null} first, then "message" {body}, "typing", "page" {page},
"offline" {name, contact, body}. The server answers "welcome" {token, online, status, messages, texts},
and pushes "message" {id, from, body, at, name}, "typing", "status" {status, operator}, "error" {error,
text}, "offline_saved". Every text is plain text: the widget shows it with textContent.

Floods are refused per visitor and per address (a token bucket each, crm/webchat/rules.py; the buckets
are this worker's: several workers each allow their own), a frame over MAX_FRAME_BYTES and a message over
MAX_MESSAGE_CHARS are refused with a reason, and the connection goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from crm import i18n
from crm.db import DATABASE_ERRORS
from crm.i18n import _
from crm.webchat import queries as q
from crm.webchat import rules, service
from crm.webchat.rules import Bucket
from web.chat_hub import ChatHub
from web.client_address import client_address
from web.locale import request_locale
from web.public_paths import SOCKET_PATH, WIDGET_PATH

log = logging.getLogger(__name__)

WIDGET = Path(__file__).parent.parent / "static" / "chat_widget.js"
HELLO_SECONDS = 10
# Close codes: the site or its origin refused; too many refusals in a row.
REFUSED, FLOODING = 4403, 4429
MAX_REFUSALS = 50
# A typing frame passed on at most this often: under the widget's own 1.5 s (web/static/chat_widget.js), so
# no frame a real widget sends is dropped (at 2 s every other one was, and the operator's "typing" could lapse).
TYPING_EVERY_SECONDS = 1.0
# New sockets per address (each hello without a token makes a visitor row): a bucket per address.
HELLO_RATE, HELLO_BURST = 0.5, 20.0
_BUCKETS_KEPT = 10_000
_DB_TROUBLE: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, TimeoutError)


async def widget(request: Request) -> Response:
    return Response(WIDGET.read_bytes(), media_type="text/javascript; charset=utf-8")


class Flood:
    """This worker's token buckets, per visitor and per address."""

    def __init__(self) -> None:
        self.visitors: dict[int, Bucket] = {}
        self.addresses: dict[str, Bucket] = {}
        self.hellos: dict[str, Bucket] = {}

    def allow_hello(self, address: str | None, now: float) -> bool:
        if len(self.hellos) > _BUCKETS_KEPT:
            self.hellos = {k: b for k, b in self.hellos.items() if now - b.at <= 600}
        ok, self.hellos[address or ""] = rules.take_token(self.hellos.get(address or ""), now, HELLO_RATE,
                                                           HELLO_BURST)
        return ok

    def allow(self, visitor_id: int, address: str | None, now: float) -> bool:
        # Forget the idle ones (a full bucket is as good as none).
        if len(self.visitors) > _BUCKETS_KEPT:
            self.visitors = {k: b for k, b in self.visitors.items() if now - b.at <= 600}
        if len(self.addresses) > _BUCKETS_KEPT:
            self.addresses = {k: b for k, b in self.addresses.items() if now - b.at <= 600}
        ok_visitor, visitor_bucket = rules.take_token(self.visitors.get(visitor_id), now, rules.VISITOR_RATE,
                                                      rules.VISITOR_BURST)
        self.visitors[visitor_id] = visitor_bucket
        ok_address, address_bucket = rules.take_token(self.addresses.get(address or ""), now, rules.ADDRESS_RATE,
                                                      rules.ADDRESS_BURST)
        self.addresses[address or ""] = address_bucket
        return ok_visitor and ok_address


def texts() -> dict[str, str]:
    """The widget's words, in the visitor's browser's language."""
    return {"title": _("Chat with us"), "open": _("Chat"), "close": _("Close"), "send": _("Send"),
            "placeholder": _("Write a message"), "typing": _("The operator is typing..."),
            "waiting": _("Waiting for an operator..."), "joined": _("%(name)s joined the chat"),
            "closed": _("The chat is closed. Write again to start a new one."),
            "offline": _("Nobody is online now. Leave a message and we will get back to you."),
            "name": _("Your name"), "contact": _("Phone or e-mail"), "message": _("Message"),
            "leave": _("Leave a message"), "thanks": _("Thank you! We will get back to you."),
            "too_fast": _("Too many messages: wait a moment."),
            "too_long": _("The message is too long: at most %(num)d characters.") % {"num": rules.MAX_MESSAGE_CHARS},
            "too_big": _("The message is too long."), "empty": _("Write a message first."),
            "failed": _("Not sent: try again.")}


def message_json(row) -> dict:
    return {"type": "message", "id": row["id"], "from": row["sender"], "body": row["body"],
            "at": row["created_at"].isoformat(), "name": row["operator_name"] or ""}


class VisitorConnection:
    def __init__(self, ws: WebSocket, site, hub: ChatHub, flood: Flood):
        self.ws, self.site, self.hub, self.flood = ws, site, hub, flood
        self.pool = ws.app.state.pool
        self.region = ws.app.state.settings.default_region
        self.address = client_address(ws)
        # In the log as the site keeps it: anonymised when the site says so.
        self.logged_address = rules.stored_ip(self.address, site["anonymize_ip"])
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=200)
        self.following: int | None = None
        self.last_id = 0
        self.visitor: Any = None  # the visitor's row, once it said hello
        self.arrival = service.Arrival({"url": "", "title": "", "referrer": ""},
                                       ws.headers.get("user-agent", ""), self.address)
        self.refusals = 0
        self.typing_at = 0.0  # when a typing frame was last passed on (TYPING_EVERY_SECONDS apart at most)
        self.pushing = asyncio.Lock()  # the reader and the pusher both push new messages: each once

    async def send(self, data: dict) -> None:
        await self.ws.send_text(json.dumps(data))

    async def refuse(self, error: str) -> None:
        self.refusals += 1
        log.info("chat site %s visitor %s from %s: refused (%s)", self.site["id"],
                 self.visitor["id"] if self.visitor else None, self.logged_address, error)
        await self.send({"type": "error", "error": error, "text": texts()[error]})

    def follow(self, conversation_id: int | None) -> None:
        if conversation_id == self.following:
            return
        if self.following is not None:
            self.hub.unsubscribe(self.following, self.queue)
        self.following = conversation_id
        if conversation_id is not None:
            self.hub.subscribe(conversation_id, self.queue)

    async def hello(self, frame: dict) -> None:
        self.arrival = service.Arrival(service.page_of(frame.get("page")), self.arrival.user_agent, self.address)
        async with self.pool.acquire(timeout=5) as conn:
            async with conn.transaction():
                self.visitor, token, conversation = await service.visitor_hello(
                    conn, self.site, frame.get("token"), frame.get("identity"), self.arrival, time.time())
            online = await q.operators_online(conn) > 0
            rows = await q.messages(conn, conversation["id"]) if conversation else []
        self.follow(conversation["id"] if conversation else None)
        self.last_id = rows[-1]["id"] if rows else 0
        await self.send({"type": "welcome", "token": token, "online": online,
                         "status": conversation["status"] if conversation else "",
                         "operator": (conversation["operator_name"] or "") if conversation else "",
                         "messages": [message_json(r) for r in rows], "texts": texts()})

    async def on_frame(self, raw: str) -> None:
        if len(raw.encode()) > rules.MAX_FRAME_BYTES:
            await self.refuse("too_big")
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            return
        kind = frame.get("type")
        if kind == "typing":
            # Each passed on is a NOTIFY to every worker: one per TYPING_EVERY_SECONDS, the rest dropped.
            now = time.monotonic()
            if now - self.typing_at < TYPING_EVERY_SECONDS:
                return
            self.typing_at = now
            async with self.pool.acquire(timeout=5) as conn:
                await service.visitor_typing(conn, self.visitor)
            return
        if kind not in ("message", "offline", "page"):
            return
        if not self.flood.allow(self.visitor["id"], self.address, time.monotonic()):
            await self.refuse("too_fast")
            return
        if kind == "page":
            async with self.pool.acquire(timeout=5) as conn:
                await service.visitor_page(conn, self.visitor, service.page_of(frame.get("page")))
            return
        body, why = rules.clean_text(frame.get("body"))
        if body is None:
            await self.refuse(why or "empty")
            return
        async with self.pool.acquire(timeout=5) as conn:
            if kind == "message":
                conversation_id, _message = await service.visitor_message(conn, self.site, self.visitor, body,
                                                                          self.arrival, self.region)
                self.follow(conversation_id)
                await self.push_messages(conn)
            else:
                await service.offline_message(conn, self.site, self.visitor, rules.cut(frame.get("name"), 200),
                                              rules.cut(frame.get("contact"), 300).strip(), body, self.arrival,
                                              self.region)
                await self.send({"type": "offline_saved"})
        self.refusals = 0

    async def push_messages(self, conn) -> None:
        async with self.pushing:
            if self.following is None:
                return
            for row in await q.messages(conn, self.following, self.last_id):
                await self.send(message_json(row))
                self.last_id = row["id"]

    async def on_event(self, event: dict) -> None:
        name = event.get("e")
        if name == "typing":
            if event.get("by") == "operator":
                await self.send({"type": "typing"})
            return
        async with self.pool.acquire(timeout=5) as conn:
            if name in ("message", "resync"):
                await self.push_messages(conn)
            if name in ("accepted", "closed", "resync") and self.following is not None:
                row = await q.conversation(conn, self.following)
                if row is not None:
                    await self.send({"type": "status", "status": row["status"], "operator": row["operator_name"] or ""})
                    if row["status"] == "closed":
                        self.follow(None)
                        self.last_id = 0

    async def reader(self) -> None:
        """The visitor's frames until it goes (or floods on and on, or the database is away)."""
        try:
            while self.refusals < MAX_REFUSALS:
                await self.on_frame(await self.ws.receive_text())
            log.warning("chat site %s: visitor %s from %s cut off after %d refusals", self.site["id"],
                        self.visitor["id"], self.logged_address, self.refusals)
            await self.ws.close(code=FLOODING)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except _DB_TROUBLE as e:
            log.warning("chat socket of site %s: database unavailable (%s)", self.site["id"], type(e).__name__)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011)

    async def pusher(self) -> None:
        try:
            while True:
                await self.on_event(await self.queue.get())
        except (WebSocketDisconnect, RuntimeError):
            pass  # the visitor has gone: the reader hears it too
        except _DB_TROUBLE as e:
            log.warning("chat socket of site %s: push failed (%s)", self.site["id"], type(e).__name__)
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011)


async def visitor_socket(ws: WebSocket) -> None:
    key = ws.query_params.get("site", "")[:100]
    origin = ws.headers.get("origin")
    try:
        async with ws.app.state.pool.acquire(timeout=5) as conn:
            site = await q.site_by_key(conn, key) if key else None
    except _DB_TROUBLE as e:
        log.warning("chat socket: site not read (%s)", type(e).__name__)
        await ws.close(code=1013)
        return
    if site is None or not rules.origin_allowed(origin, site["allowed_origins"]):
        log.info("chat socket refused: site key %r, origin %r, from %s", key[:20], origin, client_address(ws))
        await ws.close(code=REFUSED)
        return
    if not ws.app.state.chat_flood.allow_hello(client_address(ws), time.monotonic()):
        log.warning("chat socket of site %s refused: too many new connections from %s", site["id"],
                    rules.stored_ip(client_address(ws), site["anonymize_ip"]))
        await ws.close(code=FLOODING)
        return
    await ws.accept()
    connection = VisitorConnection(ws, site, ws.app.state.chat, ws.app.state.chat_flood)
    with i18n.using(request_locale(ws.scope).language):
        try:
            first = await asyncio.wait_for(ws.receive_text(), HELLO_SECONDS)
            frame = json.loads(first) if len(first) <= rules.MAX_FRAME_BYTES else None
            if not isinstance(frame, dict) or frame.get("type") != "hello":
                await ws.close(code=1008)
                return
            await connection.hello(frame)
            # The visitor's frames here, the pushes in a task beside: structured (anyio), so the server's
            # cancellation of the connection reaches both.
            async with anyio.create_task_group() as group:
                group.start_soon(connection.pusher)
                await connection.reader()
                group.cancel_scope.cancel()
        except (WebSocketDisconnect, asyncio.TimeoutError, ValueError, RuntimeError):
            pass
        except _DB_TROUBLE as e:
            log.warning("chat socket of site %s: database unavailable (%s)", site["id"], type(e).__name__)
            with contextlib.suppress(Exception):
                await ws.close(code=1011)
        finally:
            connection.follow(None)


routes = [
    Route(WIDGET_PATH, widget, name="chat_public.widget", methods=["GET"]),
    WebSocketRoute(SOCKET_PATH, visitor_socket, name="chat_public.socket"),
]
