"""A Server-Sent Events response: text/event-stream, neither cached nor buffered by a proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
