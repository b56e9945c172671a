"""Screen pops and notifications in the browser: one LISTEN per web worker, fanned out to each
user's open tabs as Server-Sent Events. Any worker serves any user: every
worker hears every NOTIFY and keeps only its own connections' users."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from crm import notifications
from crm.listen import listen_forever
from crm.pops import CHANNEL

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15


class PopHub:
    def __init__(self, database_url: str):
        self._url = database_url
        self._queues: dict[int, set[asyncio.Queue]] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self._url, CHANNEL, self._on_payload))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def subscribe(self, user_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=100)
        self._queues.setdefault(user_id, set()).add(queue)
        return queue

    def unsubscribe(self, user_id: int, queue: asyncio.Queue) -> None:
        queues = self._queues.get(user_id, set())
        queues.discard(queue)
        if not queues:
            self._queues.pop(user_id, None)

    def _on_payload(self, payload: str) -> None:
        """Screen pops (PopEvent) and notifications share the channel; "sse" names the event."""
        try:
            data = json.loads(payload)
            user_id = int(data["user_id"])
        except (ValueError, TypeError, KeyError) as e:
            log.warning("malformed event %r: %s", payload[:200], e)
            return
        name = data.pop("sse", "pop")
        for queue in self._queues.get(user_id, ()):
            if not queue.full():
                queue.put_nowait((name, json.dumps(data)))


async def events(request: Request):
    """GET /events: this user's pops and notifications, as text/event-stream.

    A stream starts with the notifications no tab of the user received (J1), and marks each
    notification delivered once it has written it out."""
    hub: PopHub = request.app.state.pops
    pool = request.app.state.pool
    user_id = request.user["id"]
    queue = hub.subscribe(user_id)  # before the backlog is read: nothing falls between the two

    async def stream():
        try:
            yield "retry: 2000\n: connected\n\n"
            async with pool.acquire() as conn:
                waiting = await notifications.backlog(conn, user_id)
            for n in waiting:
                yield f"event: notification\ndata: {json.dumps(n)}\n\n"
            if waiting:
                log.info("user %s: %d notifications nobody received shown on a new page", user_id, len(waiting))
            while True:
                try:
                    name, data = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"event: {name}\ndata: {data}\n\n"
                if name == "notification":
                    async with pool.acquire() as conn:
                        await notifications.delivered(conn, user_id, int(json.loads(data)["id"]))
        finally:
            hub.unsubscribe(user_id, queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [Route("/events", events, name="pops.events", methods=["GET"])]
