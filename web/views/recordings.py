"""Playing recordings in the browser: range requests, so seeking works; listening is checked per call."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from crm.errors import Forbidden, NotFound
from crm.i18n import _
from crm.recordings import queries as rec_q
from crm.recordings.policy import can_listen
from web.db import connection

MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


async def play(request: Request):
    async with connection(request) as conn:
        rec = await rec_q.recording_for_playback(conn, request.path_params["id"])
    if rec is None:
        raise NotFound(_("no such recording"))
    if not can_listen(request.user, rec):
        raise Forbidden(_("your role does not allow listening to this call"))
    path = Path(rec["path"])
    if not path.is_file():
        raise NotFound(_("the recording file is missing on the server"))
    return FileResponse(path, media_type=MEDIA_TYPES[rec["format"]], filename=path.name,
                        content_disposition_type="inline")


routes = [Route("/recordings/{id:int}", play, name="recordings.play", methods=["GET"])]
