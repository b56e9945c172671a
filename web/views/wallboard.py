"""The live wallboard (issue 18), for supervisors and admins: per queue the callers waiting and their
waits, agents by state, today's offered/answered/abandoned, service level, average wait and talk; per
agent its state, time in state and calls today. The page at /wallboard, JSON at /api/wallboard, and
/wallboard/events: the board's HTML again (as Server-Sent Events) each time something changes.

While a PBX node is down or silent (issue 26, crm/nodes/) a banner over the board names it and since
when; the JSON carries every node ("nodes") and those not up ("nodes_not_up").

Every count is over the calls the reader may see (the call rules, as the reports). Each talking or
ringing agent's row carries its call's id (data-call) for the supervisor's listen-in buttons."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from crm import i18n
from crm.calls import rule_queries
from crm.calls.rules import LISTEN, SEE
from crm.calls.rules_sql import condition
from crm.db import DATABASE_ERRORS
from crm.roles import WALLBOARD_ROLES, sees_everything
from crm.supervision import MODES
from crm.wallboard.board import STATES
from crm.wallboard.queries import listenable, snapshot
from web.call_rules import rules_of
from web.db import connection
from web.jsonout import jsonable
from web.permissions import require_role
from web.resource import html_or_json
from web.templating import templates
from web.wallboard_stream import WallboardHub

log = logging.getLogger(__name__)

ROLES = WALLBOARD_ROLES
KEEPALIVE_SECONDS = 15
# A burst of writes for one event (a call's answer: ringing stopped, answered, its leg) makes one picture.
DEBOUNCE_SECONDS = 0.03
# The board is read again this often even when nothing was heard (a lost NOTIFY shows at most this late).
REFRESH_SECONDS = 60
FRAGMENT = "_wallboard_board.html"


def board_json(board: dict) -> dict:
    return jsonable(board)


def _context(request: Request, board: dict, listenable: set[int]) -> dict:
    # The token too: the stream's fragment is drawn outside render() (the listen-in forms need it).
    return {"request": request, "board": board, "states": STATES, "listenable": listenable,
            "supervise_modes": MODES, "user": request.user, "csrf_token": request.scope.get("csrf_token", "")}


async def _listenable(conn, rules, request: Request, board: dict) -> set[int]:
    """The talking agents' calls this supervisor may listen to (the call rules' LISTEN): their rows
    get the listen-in, whisper and barge buttons (crm/supervision/; the request checks again)."""
    if not sees_everything(request.user):
        return set()
    calls = [a["call_id"] for a in board["agents"] if a["state"] == "talking" and a["call_id"]]
    return await listenable(conn, calls, lambda start: condition(rules, request.user, LISTEN, start=start))


@require_role(*ROLES)
async def wallboard(request: Request):
    """GET /wallboard (HTML) and /api/wallboard (JSON): the board now."""
    rules = await rules_of(request)
    async with connection(request) as conn:
        board = await snapshot(conn, timezone=request.app.state.settings.timezone,
                               visible=lambda start: condition(rules, request.user, SEE, start=start))
        may_listen = await _listenable(conn, rules, request, board)
    return await html_or_json(request, "wallboard.html", lambda: _context(request, board, may_listen),
                              lambda: board_json(board))


async def _render(request: Request, language: str) -> str:
    """The board's HTML now, read on a pooled connection of its own (the stream outlives the request)."""
    with i18n.using(language):  # the pause reasons' names too
        async with request.app.state.pool.acquire(timeout=5) as conn:
            rules = await rule_queries.load(conn)
            board = await snapshot(conn, timezone=request.app.state.settings.timezone,
                                   visible=lambda start: condition(rules, request.user, SEE, start=start))
            may_listen = await _listenable(conn, rules, request, board)
        html = templates.get_template(FRAGMENT).render(_context(request, board, may_listen))
    return json.dumps({"now": board["now"].isoformat(), "html": html})


@require_role(*ROLES)
async def events(request: Request):
    """GET /wallboard/events: the board's HTML each time it changes, as text/event-stream."""
    hub: WallboardHub = request.app.state.wallboard
    language = i18n.current()
    signal = hub.subscribe()

    async def stream():
        try:
            yield "retry: 1000\n: connected\n\n"
            refreshed = time.monotonic()
            signal.set()  # the board at once: the page may be older than the stream (a reconnect)
            while True:
                try:
                    await asyncio.wait_for(signal.wait(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    if time.monotonic() - refreshed < REFRESH_SECONDS:
                        yield ": keepalive\n\n"
                        continue
                await asyncio.sleep(DEBOUNCE_SECONDS)
                signal.clear()
                try:
                    data = await _render(request, language)
                except DATABASE_ERRORS as e:
                    log.warning("wallboard for user %s not rebuilt (%s)", request.user["id"], type(e).__name__)
                    yield ": database unavailable\n\n"
                    continue
                refreshed = time.monotonic()
                yield f"event: board\ndata: {data}\n\n"
        finally:
            hub.unsubscribe(signal)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [
    Route("/wallboard", wallboard, name="wallboard.wallboard", methods=["GET"]),
    Route("/api/wallboard", wallboard, name="wallboard.wallboard_api", methods=["GET"]),
    Route("/wallboard/events", events, name="wallboard.events", methods=["GET"]),
]
