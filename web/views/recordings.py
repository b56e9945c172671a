"""Playing recordings and voicemails in the browser: range requests, so seeking works; listening is
checked per call (a voicemail also by its task and queue: crm/voicemails/model.py)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from crm.errors import Forbidden, NotFound
from crm.i18n import _
from crm.recordings import queries as rec_q
from crm.recordings.policy import can_listen
from crm.roles import is_customer
from crm.voicemails import queries as voicemails_q
from crm.voicemails.model import can_play
from web.call_rules import rules_of
from web.db import connection

MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def _audio(path_text: str, fmt: str) -> FileResponse:
    path = Path(path_text)
    if not path.is_file():
        raise NotFound(_("the recording file is missing on the server"))
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=path.name, content_disposition_type="inline")


async def play(request: Request):
    async with connection(request) as conn:
        rec = await rec_q.recording_for_playback(conn, request.path_params["id"])
    if rec is None:
        raise NotFound(_("no such recording"))
    if not can_listen(request.user, rec, await rules_of(request)):
        if is_customer(request.user):  # another customer's call is as missing as none (issue 22, G3)
            raise NotFound(_("no such recording"))
        raise Forbidden(_("your role does not allow listening to this call"))
    return _audio(rec["path"], rec["format"])


async def _voicemail(request: Request, conn):
    voicemail = await voicemails_q.voicemail_for_playback(conn, request.path_params["id"])
    if voicemail is None:
        raise NotFound(_("no such voicemail"))
    if not can_play(request.user, voicemail, voicemail["listeners"], await rules_of(request)):
        raise Forbidden(_("you may not listen to this voicemail"))
    return voicemail


async def play_voicemail(request: Request):
    async with connection(request) as conn:
        voicemail = await _voicemail(request, conn)
    return _audio(voicemail["path"], voicemail["format"])


async def voicemail_listened(request: Request):
    """The player started (app.js): the voicemail counts as listened to. Not on GET: a browser
    may fetch the file ahead without anyone hearing it."""
    async with connection(request) as conn:
        voicemail = await _voicemail(request, conn)
        await voicemails_q.mark_listened(conn, voicemail["id"], request.user["id"])
    return JSONResponse({"ok": True})


routes = [Route("/recordings/{id:int}", play, name="recordings.play", methods=["GET"]),
          Route("/voicemails/{id:int}", play_voicemail, name="recordings.play_voicemail", methods=["GET"]),
          Route("/voicemails/{id:int}/listened", voicemail_listened, name="recordings.voicemail_listened",
                methods=["POST"])]
