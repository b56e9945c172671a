"""Admin pages for greetings (issue 15): the list with who plays each, an upload (mp3 or wav,
converted for Asterisk), listening in the browser, deleting one nothing plays, and the
built-in prompts a line or menu may pick instead."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse
from starlette.routing import Route

from crm.errors import DomainError, NotFound, ValidationError
from crm.greetings import audio
from crm.greetings import queries as greetings_q
from crm.greetings import service as greetings
from crm.greetings.prompts import BUILTIN_PROMPTS, builtin_label
from crm.i18n import gettext as _
from web.db import connection
from web.limits import UPLOAD_BODY_BYTES
from web.permissions import require_role
from web.schemas_telephony import GreetingForm
from web.templating import render
from web.uploads import spool
from web.urls import path_for
from web.validation import parse


def _directory(request: Request) -> Path:
    return request.app.state.settings.greetings_dir


async def _page(request: Request, *, error: DomainError | None = None, name: str = ""):
    async with connection(request) as conn:
        rows = await greetings_q.list_greetings(conn)
    field_errors = error.errors if isinstance(error, ValidationError) else {}
    return await render(request, "admin_greetings.html", {
        "greetings": rows, "builtins": [(sound, builtin_label(sound)) for sound in BUILTIN_PROMPTS],
        "max_mb": audio.MAX_BYTES >> 20, "max_seconds": audio.MAX_SECONDS, "error": error,
        "field_errors": field_errors, "name": name}, status_code=error.status if error else 200)


@require_role("admin")
async def greetings_page(request: Request):
    return await _page(request)


@require_role("admin")
async def greeting_upload(request: Request):
    declared = int(request.headers.get("content-length") or 0)
    if declared > UPLOAD_BODY_BYTES["/admin/greetings"]:
        error = ValidationError({"file": _("the file is too big: a greeting's file is at most %(mb)d MB") % {
            "mb": audio.MAX_BYTES >> 20}})
        error.status = 413
        return await _page(request, error=error)
    name, path = "", None
    try:
        async with request.form() as form:  # closes the upload's spool file on every path
            name = str(form.get("name") or "")[:200]
            name = parse(GreetingForm, form).name
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationError({"file": _("choose an mp3 or wav file")})
            filename = upload.filename.replace("\x00", "")
            path = await asyncio.to_thread(spool, upload.file, prefix="pbxcrm-greeting-",
                                           suffix=Path(filename).suffix[:8])
        async with connection(request) as conn:
            await greetings.upload(conn, request.user["id"], name=name, filename=filename, source=path,
                                   directory=_directory(request))
    except DomainError as e:
        return await _page(request, error=e, name=name)
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
    return RedirectResponse(path_for(request, "greetings.greetings_page"), status_code=303)


@require_role("admin")
async def greeting_audio(request: Request):
    """The converted file, as the telephone plays it, for the admin's browser."""
    async with connection(request) as conn:
        row = await greetings_q.get_greeting(conn, request.path_params["id"])
    if row is None:
        raise NotFound(_("no greeting %(id)s") % {"id": request.path_params["id"]})
    path = greetings.file_path(_directory(request), row["file"])
    if not path.is_file():
        raise NotFound(_("the greeting's file is missing on the server"))
    return FileResponse(path, media_type="audio/wav", content_disposition_type="inline",
                        filename=f"{Path(row['original_name']).stem or 'greeting'}.wav")


@require_role("admin")
async def greeting_delete(request: Request):
    try:
        async with connection(request) as conn:
            await greetings.delete(conn, request.user["id"], request.path_params["id"], _directory(request))
    except DomainError as e:
        return await _page(request, error=e)
    return RedirectResponse(path_for(request, "greetings.greetings_page"), status_code=303)


routes = [
    Route("/admin/greetings", greetings_page, name="greetings.greetings_page", methods=["GET"]),
    Route("/admin/greetings", greeting_upload, name="greetings.greeting_upload", methods=["POST"]),
    Route("/admin/greetings/{id:int}/audio", greeting_audio, name="greetings.greeting_audio", methods=["GET"]),
    Route("/admin/greetings/{id:int}/delete", greeting_delete, name="greetings.greeting_delete", methods=["POST"]),
]
